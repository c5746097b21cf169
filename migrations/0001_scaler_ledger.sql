CREATE TABLE `gpu_perf` (
	`group_id` integer NOT NULL,
	`gpu_name` text NOT NULL,
	`perf` real NOT NULL,
	`updated_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	PRIMARY KEY(`group_id`, `gpu_name`),
	FOREIGN KEY (`group_id`) REFERENCES `worker_groups`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `group_load_times` (
	`group_id` integer PRIMARY KEY NOT NULL,
	`seconds` text DEFAULT '[]' NOT NULL,
	`updated_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`group_id`) REFERENCES `worker_groups`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `scaler_leases` (
	`endpoint_id` integer PRIMARY KEY NOT NULL,
	`holder` text NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE `workers` ADD `offer_id` integer;--> statement-breakpoint
ALTER TABLE `workers` ADD `gpu_name` text;--> statement-breakpoint
ALTER TABLE `workers` ADD `dph_total` real;--> statement-breakpoint
ALTER TABLE `workers` ADD `perf` real;--> statement-breakpoint
ALTER TABLE `workers` ADD `state_since` integer;--> statement-breakpoint
ALTER TABLE `workers` ADD `ready_at` integer;--> statement-breakpoint
ALTER TABLE `workers` ADD `start_failures` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `workers` ADD `last_start_failure_at` integer;--> statement-breakpoint
ALTER TABLE `workers` ADD `close_reason` text;--> statement-breakpoint
CREATE INDEX `workers_open_instances` ON `workers` (`kind`,`closed_at`);