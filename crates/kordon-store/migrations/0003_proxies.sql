-- Proxy profiles and their authentication objects (logins, client IPs, site lists).

-- `/api/proxy/ip/add` (an extension) takes an optional note so a user can tell their client
-- addresses apart; 0001 has no column for it.
ALTER TABLE proxy_ips ADD COLUMN description TEXT;

-- Adding an IP looks up the owner's own copy of it first (one IP once per owner).
CREATE INDEX proxy_ips_owner_ip ON proxy_ips (owner_id, ip);

-- `proxy/list` sorts by these; without an index every page sorts all profiles.
CREATE INDEX proxies_date_create ON proxies (date_create);
CREATE INDEX proxies_date_update ON proxies (date_update);
