//! The tables Open311 owns: its clients' keys, outside systems' updates, service attributes.

use gongzhi_core::db::Migration;

pub const MIGRATIONS: &[Migration] = &[OPEN311_0001, OPEN311_0002];

const OPEN311_0002: Migration = Migration {
    id: "open311-0002-attributes",
    sql: r#"
CREATE TABLE open311_attributes (service_code TEXT PRIMARY KEY, definition TEXT NOT NULL)
"#,
};

const OPEN311_0001: Migration = Migration {
    id: "open311-0001",
    sql: r#"
CREATE TABLE open311_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE TABLE open311_updates (
    update_id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    status TEXT NOT NULL,
    description TEXT NOT NULL,
    media_url TEXT,
    updated_at BIGINT NOT NULL,
    client TEXT NOT NULL
)
"#,
};
