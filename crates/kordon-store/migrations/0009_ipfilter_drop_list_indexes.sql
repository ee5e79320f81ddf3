-- The ipfilter list takes its pages by rank from an in-memory index (kordon-store
-- `ipfilter::order`) and reads only the page's rows, by id: the indexes 0008 added for walking
-- the list in id and in type order serve no query any more (export and the whole-set reads go
-- by the table's own id order, duplicate checks by `ipfilter_rules_network`, the sweep by
-- `ipfilter_rules_expiry`). Each one is also written by every insert, a million times by a
-- million-rule import.
DROP INDEX ipfilter_rules_id;
DROP INDEX ipfilter_rules_kind_id;
