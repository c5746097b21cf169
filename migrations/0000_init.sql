CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`endpoint_id` integer NOT NULL,
	`key_hash` text NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`revoked_at` integer,
	FOREIGN KEY (`endpoint_id`) REFERENCES `endpoints`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_hash` ON `api_keys` (`key_hash`);--> statement-breakpoint
CREATE INDEX `api_keys_endpoint` ON `api_keys` (`endpoint_id`);--> statement-breakpoint
CREATE TABLE `endpoints` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`min_load` real DEFAULT 0 NOT NULL,
	`min_cold_load` real DEFAULT 0 NOT NULL,
	`target_util` real DEFAULT 0.9 NOT NULL,
	`cold_mult` real DEFAULT 2.5 NOT NULL,
	`cold_workers` integer DEFAULT 5 NOT NULL,
	`max_workers` integer DEFAULT 20 NOT NULL,
	`max_queue_time` real DEFAULT 30 NOT NULL,
	`target_queue_time` real DEFAULT 10 NOT NULL,
	`inactivity_timeout` real,
	`endpoint_state` text DEFAULT 'active' NOT NULL,
	`max_hourly_cost` real,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`updated_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`deleted_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `endpoints_live_name` ON `endpoints` (`name`) WHERE deleted_at IS NULL;--> statement-breakpoint
CREATE TABLE `events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`endpoint` text,
	`kind` text NOT NULL,
	`action` text NOT NULL,
	`reason` text DEFAULT '' NOT NULL,
	`outcome` text DEFAULT 'ok' NOT NULL,
	`detail` text
);
--> statement-breakpoint
CREATE INDEX `events_endpoint_at` ON `events` (`endpoint`,`at`);--> statement-breakpoint
CREATE TABLE `worker_groups` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`endpoint_id` integer NOT NULL,
	`name` text NOT NULL,
	`template_hash` text,
	`image` text,
	`launch_args` text,
	`env` text DEFAULT '{}' NOT NULL,
	`search_params` text DEFAULT '{}' NOT NULL,
	`gpu_ram` real,
	`disk` real DEFAULT 32 NOT NULL,
	`cold_workers` integer,
	`max_workers` integer,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`updated_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`endpoint_id`) REFERENCES `endpoints`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `worker_groups_endpoint_name` ON `worker_groups` (`endpoint_id`,`name`);--> statement-breakpoint
CREATE TABLE `workers` (
	`id` text PRIMARY KEY NOT NULL,
	`endpoint_id` integer NOT NULL,
	`group_id` integer,
	`kind` text NOT NULL,
	`mtoken_hash` text NOT NULL,
	`vast_instance_id` integer,
	`status` text DEFAULT 'active' NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`updated_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`closed_at` integer,
	FOREIGN KEY (`endpoint_id`) REFERENCES `endpoints`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`group_id`) REFERENCES `worker_groups`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `workers_vast_instance` ON `workers` (`vast_instance_id`);--> statement-breakpoint
CREATE INDEX `workers_endpoint` ON `workers` (`endpoint_id`);