//! Deliberation's tables, created and changed only by these migrations (never edit an applied
//! one; add the next). Portable SQL for SQLite and PostgreSQL.

use gongzhi_core::db::Migration;

pub const MIGRATIONS: &[Migration] = &[DELIBERATION_0001, DELIBERATION_0002];

const DELIBERATION_0001: Migration = Migration {
    id: "deliberation-0001",
    sql: r#"
CREATE TABLE resident_verifications (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    area_code TEXT NOT NULL,
    place TEXT NOT NULL,
    method TEXT NOT NULL,
    verified_by TEXT NOT NULL,
    verified_at BIGINT NOT NULL,
    revoked_at BIGINT,
    revoked_by TEXT,
    revoke_reason TEXT
);
CREATE UNIQUE INDEX resident_verifications_active ON resident_verifications (user_id) WHERE revoked_at IS NULL;
CREATE INDEX resident_verifications_area ON resident_verifications (area_code);
CREATE TABLE verification_codes (
    code_hash TEXT PRIMARY KEY,
    area_code TEXT NOT NULL,
    place TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_by TEXT,
    used_at BIGINT
);
CREATE TABLE delib_events (
    id TEXT PRIMARY KEY,
    subject TEXT NOT NULL,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    step TEXT NOT NULL,
    note TEXT,
    data TEXT NOT NULL
);
CREATE INDEX delib_events_subject ON delib_events (subject, at);
CREATE TABLE topics (
    id TEXT PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    level TEXT NOT NULL,
    area_code TEXT NOT NULL,
    place TEXT NOT NULL,
    proposer_id TEXT NOT NULL,
    proposer_kind TEXT NOT NULL,
    status TEXT NOT NULL,
    merged_into TEXT,
    decline_reason TEXT,
    rules TEXT,
    opens_at BIGINT,
    closes_at BIGINT,
    eligible_count BIGINT,
    tally TEXT,
    resolution TEXT,
    objection_until BIGINT,
    hidden BIGINT NOT NULL,
    hidden_reason TEXT,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX topics_area ON topics (area_code, created_at);
CREATE TABLE topic_comments (
    id TEXT PRIMARY KEY,
    topic_id TEXT NOT NULL,
    parent_id TEXT,
    author_id TEXT NOT NULL,
    author_label TEXT NOT NULL,
    stance TEXT NOT NULL,
    body TEXT NOT NULL,
    hidden BIGINT NOT NULL,
    hidden_reason TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX topic_comments_topic ON topic_comments (topic_id, created_at);
CREATE TABLE topic_meetings (
    id TEXT PRIMARY KEY,
    topic_id TEXT NOT NULL,
    mode TEXT NOT NULL,
    starts_at BIGINT NOT NULL,
    place TEXT NOT NULL,
    minutes TEXT,
    created_at BIGINT NOT NULL
);
CREATE TABLE meeting_attendance (
    meeting_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    signed_at BIGINT NOT NULL,
    PRIMARY KEY (meeting_id, user_id)
);
CREATE TABLE topic_voters (
    topic_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    PRIMARY KEY (topic_id, user_id)
);
CREATE TABLE topic_ballots (
    id TEXT PRIMARY KEY,
    topic_id TEXT NOT NULL,
    choice TEXT NOT NULL,
    voter_id TEXT
);
CREATE INDEX topic_ballots_topic ON topic_ballots (topic_id, choice);
CREATE TABLE topic_tasks (
    id TEXT PRIMARY KEY,
    topic_id TEXT NOT NULL,
    title TEXT NOT NULL,
    owner TEXT NOT NULL,
    progress BIGINT NOT NULL,
    case_id TEXT,
    project_id TEXT,
    note TEXT,
    updated_at BIGINT NOT NULL
);
CREATE TABLE topic_participants (
    topic_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    PRIMARY KEY (topic_id, user_id)
);
CREATE TABLE budget_calls (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    area_code TEXT NOT NULL,
    place TEXT NOT NULL,
    budget BIGINT NOT NULL,
    ballot TEXT NOT NULL,
    max_approvals BIGINT,
    rule TEXT NOT NULL,
    completion TEXT NOT NULL,
    proposing_from BIGINT NOT NULL,
    reviewing_from BIGINT NOT NULL,
    voting_from BIGINT NOT NULL,
    voting_until BIGINT NOT NULL,
    implementing_from BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE budget_projects (
    id TEXT PRIMARY KEY,
    call_id TEXT NOT NULL,
    code TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    cost_estimate BIGINT NOT NULL,
    cost BIGINT,
    status TEXT NOT NULL,
    review_note TEXT,
    reviewed_by TEXT,
    reviewed_at BIGINT,
    proposer_id TEXT NOT NULL,
    progress BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (call_id, code)
);
CREATE TABLE budget_ballots (
    call_id TEXT NOT NULL,
    voter_id TEXT NOT NULL,
    projects TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (call_id, voter_id)
);
CREATE TABLE consultations (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    area_code TEXT NOT NULL,
    place TEXT NOT NULL,
    opens_at BIGINT NOT NULL,
    closes_at BIGINT NOT NULL,
    questions TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE consultation_respondents (
    consultation_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    PRIMARY KEY (consultation_id, user_id)
);
CREATE TABLE consultation_responses (
    id TEXT PRIMARY KEY,
    consultation_id TEXT NOT NULL,
    answers TEXT NOT NULL
);
CREATE INDEX consultation_responses_c ON consultation_responses (consultation_id);
CREATE TABLE panels (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    area_code TEXT NOT NULL,
    seats BIGINT NOT NULL,
    candidates TEXT NOT NULL,
    list_hash TEXT NOT NULL,
    commitment TEXT NOT NULL,
    sealed_seed TEXT NOT NULL,
    seed TEXT,
    result TEXT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    drawn_at BIGINT
);
CREATE TABLE content_reports (
    id TEXT PRIMARY KEY,
    target TEXT NOT NULL,
    reporter_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (target, reporter_id)
);
CREATE TABLE deliberation_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)
"#,
};

/// Secret ballots and consultation answers pass through a sealed pool and are counted only
/// once mixed (`ballot_box`): the counted rows lose their ids (and budget ballots their voter
/// and time, who voted moving to `budget_voters`); ballots stored before this are rewritten
/// in a random order, so their rowid or ctid no longer follows the voters'.
const DELIBERATION_0002: Migration = Migration {
    id: "deliberation-0002-ballot-mix",
    sql: r#"
CREATE TABLE ballot_boxes (box TEXT PRIMARY KEY, closed_at BIGINT);
CREATE TABLE ballot_pool (id TEXT PRIMARY KEY, box TEXT NOT NULL, sealed TEXT NOT NULL);
CREATE INDEX ballot_pool_box ON ballot_pool (box);
CREATE TABLE topic_ballots_mixed (topic_id TEXT NOT NULL, choice TEXT NOT NULL, voter_id TEXT);
INSERT INTO topic_ballots_mixed (topic_id, choice, voter_id) SELECT topic_id, choice, voter_id FROM topic_ballots ORDER BY random();
DROP TABLE topic_ballots;
ALTER TABLE topic_ballots_mixed RENAME TO topic_ballots;
CREATE INDEX topic_ballots_topic ON topic_ballots (topic_id, choice);
CREATE TABLE budget_voters (call_id TEXT NOT NULL, voter_id TEXT NOT NULL, PRIMARY KEY (call_id, voter_id));
INSERT INTO budget_voters (call_id, voter_id) SELECT call_id, voter_id FROM budget_ballots;
CREATE TABLE budget_ballots_mixed (call_id TEXT NOT NULL, projects TEXT NOT NULL);
INSERT INTO budget_ballots_mixed (call_id, projects) SELECT call_id, projects FROM budget_ballots ORDER BY random();
DROP TABLE budget_ballots;
ALTER TABLE budget_ballots_mixed RENAME TO budget_ballots;
CREATE INDEX budget_ballots_call ON budget_ballots (call_id);
CREATE TABLE consultation_responses_mixed (consultation_id TEXT NOT NULL, answers TEXT NOT NULL);
INSERT INTO consultation_responses_mixed (consultation_id, answers) SELECT consultation_id, answers FROM consultation_responses ORDER BY random();
DROP TABLE consultation_responses;
ALTER TABLE consultation_responses_mixed RENAME TO consultation_responses;
CREATE INDEX consultation_responses_c ON consultation_responses (consultation_id)
"#,
};
