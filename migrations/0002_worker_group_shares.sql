DROP INDEX `worker_groups_endpoint_name`;--> statement-breakpoint
ALTER TABLE `worker_groups` ADD `traffic_share` real DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE `worker_groups` ADD `role` text DEFAULT 'primary' NOT NULL;--> statement-breakpoint
ALTER TABLE `worker_groups` ADD `deleted_at` integer;--> statement-breakpoint
CREATE UNIQUE INDEX `worker_groups_endpoint_name` ON `worker_groups` (`endpoint_id`,`name`) WHERE deleted_at IS NULL;