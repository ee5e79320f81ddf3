-- kordon store, farm plane. Times are unix seconds (UTC); booleans are 0/1.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    email         TEXT    NOT NULL,
    first_name    TEXT    NOT NULL DEFAULT '',
    last_name     TEXT    NOT NULL DEFAULT '',
    is_staff      INTEGER NOT NULL DEFAULT 0,
    is_active     INTEGER NOT NULL DEFAULT 1,
    is_superuser  INTEGER NOT NULL DEFAULT 0,
    phone         TEXT,
    timezone      TEXT    NOT NULL DEFAULT 'Europe/Moscow',
    date_joined   INTEGER NOT NULL
);
CREATE UNIQUE INDEX users_email_unique ON users (lower(email));

-- API keys are shown once at login; only their SHA-256 is kept.
CREATE TABLE auth_tokens (
    key_hash TEXT    PRIMARY KEY,
    user_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX auth_tokens_user ON auth_tokens (user_id);

CREATE TABLE modem_models (
    id   INTEGER PRIMARY KEY,
    code TEXT    NOT NULL UNIQUE,
    name TEXT    NOT NULL
);

CREATE TABLE os_fingerprints (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL,
    os            TEXT    NOT NULL,
    ttl           INTEGER NOT NULL,
    window_size   INTEGER NOT NULL,
    window_scale  INTEGER,
    mss           INTEGER NOT NULL,
    options       TEXT    NOT NULL,
    df            INTEGER NOT NULL,
    p0f_signature TEXT    NOT NULL
);

CREATE TABLE operators (
    id   INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT    NOT NULL UNIQUE
);

CREATE TABLE network_types (
    id   INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT    NOT NULL UNIQUE
);

-- A port is one USB modem: its settings (written by the API) and its live state (written by
-- the monitoring and rotation services).
CREATE TABLE ports (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    name                TEXT    NOT NULL,
    active              INTEGER NOT NULL,
    model_id            INTEGER NOT NULL REFERENCES modem_models (id),
    net_mode            TEXT    NOT NULL,
    monitoring_interval INTEGER NOT NULL,
    is_osfp             INTEGER NOT NULL,
    osfp_id             INTEGER REFERENCES os_fingerprints (id),
    ifname              TEXT    NOT NULL UNIQUE,
    mtu                 INTEGER NOT NULL,
    reconnect_type      TEXT    NOT NULL,
    reconnect_interval  INTEGER NOT NULL,
    reconnect_min       INTEGER NOT NULL,
    link_token          TEXT    NOT NULL UNIQUE,
    date_create         INTEGER NOT NULL,
    date_update         INTEGER NOT NULL,
    -- live state
    ip                  TEXT,
    gateway             TEXT,
    conn_dev            INTEGER NOT NULL DEFAULT 0,
    conn_net            INTEGER NOT NULL DEFAULT 0,
    conn_inet           INTEGER NOT NULL DEFAULT 0,
    reconnecting        INTEGER NOT NULL DEFAULT 0,
    reconnect_start     INTEGER,
    reconnect_end       INTEGER,
    signal              INTEGER,
    rsrq                TEXT,
    rsrp                TEXT,
    rssi                TEXT,
    sinr                TEXT,
    operator_id         INTEGER REFERENCES operators (id),
    network_type_id     INTEGER REFERENCES network_types (id),
    external_ip         TEXT,
    next_reconnect_at   INTEGER
);
CREATE INDEX ports_operator ON ports (operator_id);
CREATE INDEX ports_network_type ON ports (network_type_id);

-- Delegation: the panel users allowed to manage a port.
CREATE TABLE port_users (
    port_id INTEGER NOT NULL REFERENCES ports (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (port_id, user_id)
) WITHOUT ROWID;
CREATE INDEX port_users_user ON port_users (user_id, port_id);

-- The pool of public IPs seen per operator (unique per operator).
CREATE TABLE operator_ips (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    ip          TEXT    NOT NULL,
    operator_id INTEGER NOT NULL REFERENCES operators (id),
    date_create INTEGER NOT NULL,
    UNIQUE (operator_id, ip)
);
CREATE INDEX operator_ips_ip ON operator_ips (ip);
CREATE INDEX operator_ips_date ON operator_ips (date_create);

-- Every public IP a port had after a rotation, repeats included.
CREATE TABLE port_ips (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    oip             TEXT    NOT NULL,
    port_id         INTEGER NOT NULL REFERENCES ports (id) ON DELETE CASCADE,
    operator_id     INTEGER REFERENCES operators (id),
    network_type_id INTEGER REFERENCES network_types (id),
    osfp_id         INTEGER REFERENCES os_fingerprints (id),
    date_create     INTEGER NOT NULL
);
CREATE INDEX port_ips_port ON port_ips (port_id, id);
CREATE INDEX port_ips_operator ON port_ips (operator_id, id);
CREATE INDEX port_ips_network_type ON port_ips (network_type_id, id);
CREATE INDEX port_ips_oip ON port_ips (oip);
CREATE INDEX port_ips_date ON port_ips (date_create);

-- Proxy logins (the "proxy users" of the document). Passwords are shown back by the API and
-- compared in the proxy plane, so they are kept as given.
CREATE TABLE proxy_logins (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    login       TEXT    NOT NULL UNIQUE,
    password    TEXT    NOT NULL,
    bitrate_in  INTEGER NOT NULL DEFAULT 0,
    bitrate_out INTEGER NOT NULL DEFAULT 0,
    owner_id    INTEGER REFERENCES users (id) ON DELETE SET NULL,
    date_create INTEGER NOT NULL
);
CREATE INDEX proxy_logins_owner ON proxy_logins (owner_id);

-- Client addresses for `auth: iponly` profiles.
CREATE TABLE proxy_ips (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    ip          TEXT    NOT NULL,
    owner_id    INTEGER REFERENCES users (id) ON DELETE SET NULL,
    date_create INTEGER NOT NULL
);
CREATE INDEX proxy_ips_owner ON proxy_ips (owner_id);

-- Site lists referenced by a profile's `allow`.
CREATE TABLE site_lists (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL,
    owner_id    INTEGER REFERENCES users (id) ON DELETE SET NULL,
    date_create INTEGER NOT NULL,
    date_update INTEGER NOT NULL
);
CREATE INDEX site_lists_owner ON site_lists (owner_id);

CREATE TABLE site_list_domains (
    list_id INTEGER NOT NULL REFERENCES site_lists (id) ON DELETE CASCADE,
    domain  TEXT    NOT NULL,
    PRIMARY KEY (list_id, domain)
) WITHOUT ROWID;

CREATE TABLE proxies (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    port_id     INTEGER NOT NULL REFERENCES ports (id),
    active      INTEGER NOT NULL,
    type        TEXT    NOT NULL,
    auth        TEXT    NOT NULL,
    listen_port INTEGER NOT NULL UNIQUE,
    is_local    INTEGER NOT NULL,
    maxconn     INTEGER NOT NULL,
    is_allow    INTEGER NOT NULL,
    is_ports    INTEGER NOT NULL,
    login_id    INTEGER REFERENCES proxy_logins (id),
    date_create INTEGER NOT NULL,
    date_update INTEGER NOT NULL
);
CREATE INDEX proxies_port ON proxies (port_id);
CREATE INDEX proxies_login ON proxies (login_id);

CREATE TABLE proxy_auth_ips (
    proxy_id INTEGER NOT NULL REFERENCES proxies (id) ON DELETE CASCADE,
    ip_id    INTEGER NOT NULL REFERENCES proxy_ips (id),
    PRIMARY KEY (proxy_id, ip_id)
) WITHOUT ROWID;
CREATE INDEX proxy_auth_ips_ip ON proxy_auth_ips (ip_id);

CREATE TABLE proxy_allow (
    proxy_id INTEGER NOT NULL REFERENCES proxies (id) ON DELETE CASCADE,
    list_id  INTEGER NOT NULL REFERENCES site_lists (id),
    PRIMARY KEY (proxy_id, list_id)
) WITHOUT ROWID;
CREATE INDEX proxy_allow_list ON proxy_allow (list_id);

CREATE TABLE proxy_target_ports (
    proxy_id INTEGER NOT NULL REFERENCES proxies (id) ON DELETE CASCADE,
    port     INTEGER NOT NULL,
    PRIMARY KEY (proxy_id, port)
) WITHOUT ROWID;
