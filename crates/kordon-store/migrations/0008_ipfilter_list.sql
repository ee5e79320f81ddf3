-- The ipfilter list walks `offset` entries of an index in the page's order. An index that
-- holds the sort key, the id and the expiry is walked without touching a table row, expired
-- rules not swept yet included (a table row, with its text columns, is several times wider).
-- By id: the table itself was walked until now.
CREATE INDEX ipfilter_rules_id ON ipfilter_rules (id, expires_at);
-- By type (kind, then id): replaces the index of the kind alone, which served only this.
DROP INDEX ipfilter_rules_kind;
CREATE INDEX ipfilter_rules_kind_id ON ipfilter_rules (kind, id, expires_at);
