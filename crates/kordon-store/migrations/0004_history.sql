-- IP history lookups by OS fingerprint (the `osid` filter of `ip/modem` and `ip/operator`,
-- which the farm document's own samples send).

-- `ip/modem` filtered by `osid`: count and id-ordered pages straight from the index.
CREATE INDEX port_ips_osfp ON port_ips (osfp_id, id);

-- `ip/operator` filtered by `osid` asks, for each pool IP, whether a port had it with that
-- fingerprint: answered from this index alone. It also counts `ip/modem` rows filtered by
-- `osid` together with `operator__id` (the document's sample) without touching the table.
CREATE INDEX port_ips_osfp_pool ON port_ips (osfp_id, operator_id, oip);

-- A non-superuser's `ip/modem` reads only the history of their delegated ports: this index
-- holds every filterable column, so counting and paging their rows never touches the table.
CREATE INDEX port_ips_port_cover
    ON port_ips (port_id, operator_id, network_type_id, osfp_id, date_create, oip);

-- `ip/operator` filtered by operator (the document's sample) pages in id order from here
-- instead of sorting the operator's whole pool.
CREATE INDEX operator_ips_operator ON operator_ips (operator_id, id);
