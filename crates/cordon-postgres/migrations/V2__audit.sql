-- The audit chain that the gateways share (cordon-audit). Every node appends
-- to the same chain: an append locks the one head row (SELECT ... FOR
-- UPDATE), numbers its entry after it, inserts the entry and moves the head
-- in one transaction, so appends from all nodes form one gap-free sequence.

-- One row per entry. `line` is the entry's canonical form, exactly the line
-- the file log would hold (without its newline): it is what is hashed,
-- verified and exported. The other columns repeat parts of it for queries
-- (`cordon audit verify` reports a row whose columns disagree with its line).
CREATE TABLE cordon_audit_entries (
    seq     bigint PRIMARY KEY CHECK (seq > 0),
    at      bigint NOT NULL,
    subject text NOT NULL,
    hash    text NOT NULL,
    line    text NOT NULL
);
-- One message's (or user's) trail, oldest first, from the index.
CREATE INDEX cordon_audit_entries_subject ON cordon_audit_entries (subject, seq);

-- The chain's head: the seq and hash of its last entry (0 and 64 zeros for
-- none), moved in the transaction of every append. Entries cut from the end
-- of the chain are noticed because the head still names them.
CREATE TABLE cordon_audit_head (
    id   boolean PRIMARY KEY DEFAULT true CHECK (id),
    seq  bigint NOT NULL,
    hash text NOT NULL
);
INSERT INTO cordon_audit_head (id, seq, hash)
    VALUES (true, 0, '0000000000000000000000000000000000000000000000000000000000000000');
