-- Row counts of the port IP history per (port, operator, network type, fingerprint), kept
-- exact by triggers in the same transaction as every change to `port_ips`. `ip/modem` must
-- report the total of a filter on every page; counting a million history rows one by one
-- takes milliseconds per request, summing a few thousand counters takes microseconds.
-- Unknown dimensions are tallied as 0 (ids start at 1).

CREATE TABLE port_ip_tally (
    port_id         INTEGER NOT NULL,
    operator_id     INTEGER NOT NULL,
    network_type_id INTEGER NOT NULL,
    osfp_id         INTEGER NOT NULL,
    row_count       INTEGER NOT NULL,
    PRIMARY KEY (port_id, operator_id, network_type_id, osfp_id)
) WITHOUT ROWID;
CREATE INDEX port_ip_tally_operator ON port_ip_tally (operator_id);
CREATE INDEX port_ip_tally_network_type ON port_ip_tally (network_type_id);
CREATE INDEX port_ip_tally_osfp ON port_ip_tally (osfp_id);

INSERT INTO port_ip_tally
SELECT port_id, coalesce(operator_id, 0), coalesce(network_type_id, 0), coalesce(osfp_id, 0),
       count(*)
FROM port_ips
GROUP BY 1, 2, 3, 4;

CREATE TRIGGER port_ips_tally_insert AFTER INSERT ON port_ips
BEGIN
    INSERT INTO port_ip_tally
    VALUES (NEW.port_id, coalesce(NEW.operator_id, 0), coalesce(NEW.network_type_id, 0),
            coalesce(NEW.osfp_id, 0), 1)
    ON CONFLICT DO UPDATE SET row_count = row_count + 1;
END;

CREATE TRIGGER port_ips_tally_delete AFTER DELETE ON port_ips
BEGIN
    UPDATE port_ip_tally SET row_count = row_count - 1
    WHERE port_id = OLD.port_id
      AND operator_id = coalesce(OLD.operator_id, 0)
      AND network_type_id = coalesce(OLD.network_type_id, 0)
      AND osfp_id = coalesce(OLD.osfp_id, 0);
END;

CREATE TRIGGER port_ips_tally_update
AFTER UPDATE OF port_id, operator_id, network_type_id, osfp_id ON port_ips
BEGIN
    UPDATE port_ip_tally SET row_count = row_count - 1
    WHERE port_id = OLD.port_id
      AND operator_id = coalesce(OLD.operator_id, 0)
      AND network_type_id = coalesce(OLD.network_type_id, 0)
      AND osfp_id = coalesce(OLD.osfp_id, 0);
    INSERT INTO port_ip_tally
    VALUES (NEW.port_id, coalesce(NEW.operator_id, 0), coalesce(NEW.network_type_id, 0),
            coalesce(NEW.osfp_id, 0), 1)
    ON CONFLICT DO UPDATE SET row_count = row_count + 1;
END;
