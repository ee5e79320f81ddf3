-- The ipfilter plane: firewall rules with expiry, the journal enforcement follows, and the
-- per-user right to use the ipfilter API.

-- A rule's network is stored as `ip_key` (a family byte, 4 or 6, then the address bytes in
-- network order) so that sorting by it is sorting by address, IPv4 before IPv6, and `ip` (the
-- network address as text) for replies. Host bits are always cleared. Ids are never reused.
CREATE TABLE ipfilter_rules (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    ip_key      BLOB    NOT NULL,
    ip          TEXT    NOT NULL,
    prefix_len  INTEGER NOT NULL,
    kind        INTEGER NOT NULL CHECK (kind IN (0, 1, 2)),
    expires_at  INTEGER,
    description TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    CHECK ((kind = 0) = (expires_at IS NULL))
);
-- One rule per network and type; the index also serves sorting by ip.
CREATE UNIQUE INDEX ipfilter_rules_network ON ipfilter_rules (ip_key, prefix_len, kind);
-- The sweep of expired rules and sorting by expires_time.
CREATE INDEX ipfilter_rules_expiry ON ipfilter_rules (expires_at);
-- Sorting by type.
CREATE INDEX ipfilter_rules_kind ON ipfilter_rules (kind);

-- `rule_count` is the exact number of rows of ipfilter_rules (kept by triggers: counting a
-- million rows per list page costs milliseconds). `bulk` is set only inside an import's
-- transaction: its rows are journaled as one `reload` entry instead of one entry each, and
-- counted by the import.
-- `journal_floor` is the highest journal seq pruned so far.
CREATE TABLE ipfilter_meta (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    rule_count    INTEGER NOT NULL,
    bulk          INTEGER NOT NULL,
    journal_floor INTEGER NOT NULL
);
INSERT INTO ipfilter_meta VALUES (1, 0, 0, 0);

-- What changed, in commit order, for enforcement to apply as deltas: op 1 a rule appeared,
-- op 2 a rule went away (with its old network, type and expiry), op 3 reload everything.
CREATE TABLE ipfilter_journal (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    op         INTEGER NOT NULL,
    rule_id    INTEGER NOT NULL,
    ip_key     BLOB,
    prefix_len INTEGER,
    kind       INTEGER,
    expires_at INTEGER,
    at         INTEGER NOT NULL
);

-- An import counts its rows itself, once (see `bulk`), rather than one UPDATE per row.
CREATE TRIGGER ipfilter_rules_count_insert AFTER INSERT ON ipfilter_rules
WHEN (SELECT bulk FROM ipfilter_meta WHERE id = 1) = 0
BEGIN
    UPDATE ipfilter_meta SET rule_count = rule_count + 1 WHERE id = 1;
END;

CREATE TRIGGER ipfilter_rules_count_delete AFTER DELETE ON ipfilter_rules
WHEN (SELECT bulk FROM ipfilter_meta WHERE id = 1) = 0
BEGIN
    UPDATE ipfilter_meta SET rule_count = rule_count - 1 WHERE id = 1;
END;

CREATE TRIGGER ipfilter_rules_journal_insert AFTER INSERT ON ipfilter_rules
WHEN (SELECT bulk FROM ipfilter_meta WHERE id = 1) = 0
BEGIN
    INSERT INTO ipfilter_journal (op, rule_id, ip_key, prefix_len, kind, expires_at, at)
    VALUES (1, NEW.id, NEW.ip_key, NEW.prefix_len, NEW.kind, NEW.expires_at, unixepoch());
END;

CREATE TRIGGER ipfilter_rules_journal_delete AFTER DELETE ON ipfilter_rules
WHEN (SELECT bulk FROM ipfilter_meta WHERE id = 1) = 0
BEGIN
    INSERT INTO ipfilter_journal (op, rule_id, ip_key, prefix_len, kind, expires_at, at)
    VALUES (2, OLD.id, OLD.ip_key, OLD.prefix_len, OLD.kind, OLD.expires_at, unixepoch());
END;

CREATE TRIGGER ipfilter_rules_journal_update AFTER UPDATE ON ipfilter_rules
WHEN (SELECT bulk FROM ipfilter_meta WHERE id = 1) = 0
BEGIN
    INSERT INTO ipfilter_journal (op, rule_id, ip_key, prefix_len, kind, expires_at, at)
    VALUES (2, OLD.id, OLD.ip_key, OLD.prefix_len, OLD.kind, OLD.expires_at, unixepoch());
    INSERT INTO ipfilter_journal (op, rule_id, ip_key, prefix_len, kind, expires_at, at)
    VALUES (1, NEW.id, NEW.ip_key, NEW.prefix_len, NEW.kind, NEW.expires_at, unixepoch());
END;

-- Panel users who may use the ipfilter API without being superusers.
ALTER TABLE users ADD COLUMN ipfilter_access INTEGER NOT NULL DEFAULT 0;
