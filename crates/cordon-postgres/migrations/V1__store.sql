-- The queue state and quarantine that the gateways share (cordon-store).
-- Records are the store's JSON; the columns beside them are what queries
-- select and sort on, kept in the same statements as the records.

-- One row per message a gateway has recorded. `owner` is the node whose
-- local spool holds the message (the one that accepted it, or the one that
-- took it over to carry out a decision). A message its owner has finished
-- with stays as a tombstone (`finished`), so that a node restarting with an
-- old spool file knows not to send it again.
CREATE TABLE cordon_messages (
    id              text PRIMARY KEY,
    owner           text NOT NULL,
    finished        boolean NOT NULL DEFAULT false,
    finished_at     bigint,
    unfinished      boolean NOT NULL,
    next_attempt_at bigint,
    owes_notice     boolean NOT NULL,
    record          text NOT NULL
);
CREATE INDEX cordon_messages_owner ON cordon_messages (owner, id) WHERE NOT finished;
CREATE INDEX cordon_messages_due ON cordon_messages (owner, next_attempt_at)
    WHERE NOT finished AND next_attempt_at IS NOT NULL;
CREATE INDEX cordon_messages_finished ON cordon_messages (finished_at) WHERE finished;

-- One row per quarantine entry.
CREATE TABLE cordon_quarantine (
    id              text PRIMARY KEY,
    message_id      text NOT NULL,
    state           text NOT NULL,
    held_at         bigint NOT NULL,
    expires_at      bigint NOT NULL,
    decided_at      bigint,
    sender_notified boolean NOT NULL,
    record          text NOT NULL
);
CREATE INDEX cordon_quarantine_listing ON cordon_quarantine (held_at DESC, id DESC);
CREATE INDEX cordon_quarantine_state ON cordon_quarantine (state, held_at DESC, id DESC);
CREATE INDEX cordon_quarantine_expiry ON cordon_quarantine (expires_at) WHERE state = 'held';
CREATE INDEX cordon_quarantine_decided ON cordon_quarantine (decided_at) WHERE state <> 'held';

-- The bytes and envelope of each held message, so that any node can show
-- and release it.
CREATE TABLE cordon_held_messages (
    message_id text PRIMARY KEY,
    envelope   text NOT NULL,
    content    bytea NOT NULL
);

-- The gateways sharing the database, with when each was last heard of: a
-- node silent for long has its decided messages adopted by another.
CREATE TABLE cordon_nodes (
    node    text PRIMARY KEY,
    seen_at bigint NOT NULL
);
