-- Traffic counters of the proxy data plane. The plane counts in memory and flushes absolute
-- totals here every few seconds; the API and `/metrics` read them, and the plane restores its
-- totals from them when kordon starts. A row goes with its profile or login (foreign keys are
-- enforced on every connection of the store).

CREATE TABLE proxy_counters (
    proxy_id    INTEGER PRIMARY KEY REFERENCES proxies (id) ON DELETE CASCADE,
    -- internet -> client
    bytes_in    INTEGER NOT NULL,
    -- client -> internet
    bytes_out   INTEGER NOT NULL,
    -- connections relayed since the profile was created
    connections INTEGER NOT NULL,
    -- connections open at the last flush (a gauge)
    open        INTEGER NOT NULL,
    -- refusals by reason, a JSON object with the reasons in sorted order, so an unchanged map
    -- compares equal as text and the flush can skip the row
    refusals    TEXT    NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE proxy_login_counters (
    login_id    INTEGER PRIMARY KEY REFERENCES proxy_logins (id) ON DELETE CASCADE,
    bytes_in    INTEGER NOT NULL,
    bytes_out   INTEGER NOT NULL,
    connections INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
