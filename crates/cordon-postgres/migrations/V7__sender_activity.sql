-- The sender activity counters (cordon-store's `SenderActivity`): what each
-- sender sent over time windows, shared by every gateway so that a sender
-- spreading messages over several gateways is counted once. Times are unix
-- seconds; every row is deleted by the prune once it lies entirely before
-- the longest window.

-- One row per recorded message: recording it again (a retry after a crash)
-- adds nothing. The insert that finds its row already there decides that.
CREATE TABLE cordon_sender_messages (
    message text PRIMARY KEY,
    sender  text NOT NULL,
    at      bigint NOT NULL
);
CREATE INDEX cordon_sender_messages_at ON cordon_sender_messages (at);

-- Sums in 5-minute buckets per sender and counter (`bucket` is the
-- bucket's first second). A window's sum reads the key range of its
-- buckets; the prune reads by bucket.
CREATE TABLE cordon_sender_sums (
    sender text NOT NULL,
    name   text NOT NULL,
    bucket bigint NOT NULL,
    amount bigint NOT NULL,
    PRIMARY KEY (sender, name, bucket)
);
CREATE INDEX cordon_sender_sums_bucket ON cordon_sender_sums (bucket);

-- The members of each sender's distinct sets, with the last time each was
-- added. A window's distinct count reads (sender, name, last_at); the
-- prune reads by last_at.
CREATE TABLE cordon_sender_members (
    sender  text NOT NULL,
    name    text NOT NULL,
    member  text NOT NULL,
    last_at bigint NOT NULL,
    PRIMARY KEY (sender, name, member)
);
CREATE INDEX cordon_sender_members_window ON cordon_sender_members (sender, name, last_at);
CREATE INDEX cordon_sender_members_last ON cordon_sender_members (last_at);
