//! The cases module's tables, on both backends. Never edit an applied migration; add one.

use gongzhi_core::db::Migration;

pub const MIGRATIONS: &[Migration] = &[
    CASES_0001,
    CASES_0003,
    CASES_0004_WEB,
    CASES_0005_EXTRAS,
    super::stats::MIGRATION,
    CASES_0007_STATUS_LIST,
    CASES_0008_IDEMPOTENCY_HASH,
    super::publicity::MIGRATION,
    super::stats::MONTHLY_MIGRATION,
    CASES_0011_STATUS_LIST_GRID,
];

/// A list by status in an area's scope (a dispatcher's, a grid worker's) counts up to 1,001
/// matches and skips the pages before its own: with the grid in the status index both read the
/// index alone, where before each of those rows was fetched from the table to check its grid
/// (at 100,000 cases the count went from 0.6–1.2 ms to 0.2 ms; at millions, rows fetched from
/// disk).
const CASES_0011_STATUS_LIST_GRID: Migration = Migration {
    id: "cases-0011-status-list-grid",
    sql: "DROP INDEX cases_status_created;
CREATE INDEX cases_status_created ON cases (status, created_at DESC, id, grid_code)",
};

/// A retry is told apart from a new report that reuses a key by the hash of its request.
const CASES_0008_IDEMPOTENCY_HASH: Migration = Migration {
    id: "cases-0008-idempotency-hash",
    sql: "ALTER TABLE cases ADD COLUMN idempotency_hash TEXT",
};

/// Lists by status are read newest first: with the order in the index a page is the first rows
/// of one range, not a sort of every case in that status (at millions of cases, the difference
/// between a millisecond and a second). Likely duplicates read the week of the category with
/// the place in the index: a week stays the same size as history grows (a band of latitude over
/// all history does not), and the place is checked before any row is fetched.
const CASES_0007_STATUS_LIST: Migration = Migration {
    id: "cases-0007-status-list",
    sql: "DROP INDEX cases_status;
CREATE INDEX cases_status_created ON cases (status, created_at DESC, id);
DROP INDEX cases_category_lat;
DROP INDEX cases_category_created;
CREATE INDEX cases_category_created ON cases (category_code, created_at, lat, lng)",
};

/// What a channel carries beyond the case, written with it (see `NewCase::extras`).
const CASES_0005_EXTRAS: Migration = Migration {
    id: "cases-0005-extras",
    sql: "CREATE TABLE case_extras (case_id TEXT NOT NULL, kind TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (case_id, kind));
CREATE INDEX case_extras_kind_data ON case_extras (kind, data)",
};

/// A resident's own cases ("my requests") are found by who created them.
const CASES_0004_WEB: Migration = Migration {
    id: "cases-0004-created-by",
    sql: "CREATE INDEX cases_created_by ON cases (created_by, created_at)",
};

/// Likely duplicates are looked up by category and a narrow band of latitude: the band holds far
/// fewer rows than a week of the category does.
const CASES_0003: Migration = Migration {
    id: "cases-0003-duplicate-band",
    sql: "CREATE INDEX cases_category_lat ON cases (category_code, lat)",
};

// `cases-0002-jobs-notifications` created the job queue and the notifications; both are the
// core's now (`gongzhi_core::jobs`, `gongzhi_core::notify`), whose migrations take over the
// tables of a database made before.

/// The cases module's tables. It also created `calendar_days` until the working calendar moved
/// into the core (`gongzhi_core::calendar`), whose migration takes over the table.
const CASES_0001: Migration = Migration {
    id: "cases-0001",
    sql: r#"
CREATE TABLE categories (
    code TEXT PRIMARY KEY,
    parent_code TEXT,
    name TEXT NOT NULL,
    class TEXT NOT NULL,
    filing_condition TEXT NOT NULL,
    closing_condition TEXT NOT NULL,
    respond_amount BIGINT NOT NULL,
    respond_unit TEXT NOT NULL,
    handle_amount BIGINT NOT NULL,
    handle_unit TEXT NOT NULL,
    close_amount BIGINT NOT NULL,
    close_unit TEXT NOT NULL,
    urgency TEXT NOT NULL,
    default_unit TEXT,
    public BIGINT NOT NULL
);
CREATE TABLE routing_rules (
    id TEXT PRIMARY KEY,
    category_code TEXT,
    area_code TEXT,
    unit_code TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE cases (
    id TEXT PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    category_code TEXT NOT NULL,
    description TEXT NOT NULL,
    lat DOUBLE PRECISION,
    lng DOUBLE PRECISION,
    address TEXT,
    channel TEXT NOT NULL,
    reporter_name TEXT,
    reporter_phone TEXT,
    anonymous BIGINT NOT NULL,
    grid_code TEXT,
    community_code TEXT,
    street_code TEXT,
    district_code TEXT,
    unit_code TEXT,
    lead_unit TEXT,
    status TEXT NOT NULL,
    held_from TEXT,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    dispatched_at BIGINT,
    signed_at BIGINT,
    contacted_at BIGINT,
    reported_back_at BIGINT,
    verified_at BIGINT,
    closed_at BIGINT,
    callback_at BIGINT,
    callback_contacted BIGINT,
    callback_resolved BIGINT,
    callback_satisfaction TEXT,
    respond_deadline BIGINT,
    handle_deadline BIGINT,
    close_deadline BIGINT,
    extension_until BIGINT,
    rework_count BIGINT NOT NULL,
    supervised BIGINT NOT NULL,
    primary_id TEXT,
    idempotency_key TEXT UNIQUE,
    created_by TEXT
);
CREATE INDEX cases_grid ON cases (grid_code);
CREATE INDEX cases_unit ON cases (unit_code);
CREATE INDEX cases_status ON cases (status);
CREATE INDEX cases_created ON cases (created_at);
CREATE INDEX cases_category_created ON cases (category_code, created_at);
CREATE INDEX cases_callback ON cases (callback_at);
CREATE INDEX cases_dispatched ON cases (dispatched_at);
CREATE TABLE case_events (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    step TEXT NOT NULL,
    note TEXT,
    data TEXT NOT NULL
);
CREATE INDEX case_events_case ON case_events (case_id, at);
CREATE TABLE case_summons (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    unit_code TEXT NOT NULL,
    deadline BIGINT NOT NULL,
    reported_at BIGINT,
    UNIQUE (case_id, unit_code)
);
CREATE TABLE case_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)
"#,
};
