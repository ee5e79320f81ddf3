//! The tally that answers `ip/modem` totals must always equal a plain count of the history,
//! through inserts, updates, deletes and cascades from deleted ports.

use kordon_model::filter::{parse_filter, parse_page, SortDir};
use kordon_store::history::PORT_IP_COLUMNS;
use kordon_store::listing::keys;
use kordon_store::{Scope, Store};
use serde_json::json;

async fn port(store: &Store, n: i64) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO ports (name, active, model_id, net_mode, monitoring_interval, is_osfp,
         ifname, mtu, reconnect_type, reconnect_interval, reconnect_min, link_token,
         date_create, date_update)
         VALUES (?, 1, 1, 'lte', 3, 0, ?, 0, 'link', 0, 0, ?, 0, 0) RETURNING id",
    )
    .bind(format!("p{n}"))
    .bind(format!("usb{n}"))
    .bind(format!("{n:040}"))
    .fetch_one(store.pool())
    .await
    .unwrap()
}

/// The total `list_port_ips` reports for `filter`, and a direct count with the same meaning.
async fn totals(store: &Store, filter: serde_json::Value, direct_where: &str) -> (i64, i64) {
    let mut declared = keys(PORT_IP_COLUMNS);
    declared.push(kordon_model::filter::FilterKey::new(
        "network_type__name",
        kordon_model::filter::FilterKind::Text,
    ));
    let conditions = parse_filter(Some(&filter), &declared, chrono_tz::UTC).unwrap();
    let page = parse_page(None, &["id"], SortDir::Asc).unwrap();
    let (total, _) = store
        .list_port_ips(Scope::All, &conditions, &page)
        .await
        .unwrap();
    let direct: i64 = sqlx::query_scalar(&format!(
        "SELECT count(*) FROM port_ips WHERE {direct_where}"
    ))
    .fetch_one(store.pool())
    .await
    .unwrap();
    (total, direct)
}

#[tokio::test]
async fn tally_totals_equal_plain_counts() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_dir(dir.path()).await.unwrap();
    let megafon = store.operator_id("MegaFon RUS").await.unwrap();
    let mts = store.operator_id("MTS RUS").await.unwrap();
    let lte = store.network_type_id("LTE (4G)").await.unwrap();
    let a = port(&store, 1).await;
    let b = port(&store, 2).await;
    for i in 0..60i64 {
        let (port_id, operator) = if i % 3 == 0 {
            (a, Some(mts))
        } else {
            (b, Some(megafon))
        };
        let operator = if i % 10 == 0 { None } else { operator };
        let network = (i % 2 == 0).then_some(lte);
        let osfp = Some(1 + i % 4);
        store
            .record_port_ip(port_id, &format!("10.0.0.{i}"), operator, network, osfp, i)
            .await
            .unwrap();
    }
    let cases = [
        (
            json!({"operator__id": megafon}),
            format!("operator_id = {megafon}"),
        ),
        (
            json!({"operator__id": mts, "osid": 2}),
            format!("operator_id = {mts} AND osfp_id = 2"),
        ),
        (
            json!({"network_type__id__in": [lte]}),
            format!("network_type_id IN ({lte})"),
        ),
        (
            json!({"network_type__name": "LTE (4G)", "modem__id": a}),
            format!("network_type_id = {lte} AND port_id = {a}"),
        ),
    ];
    let check = |label: &'static str| {
        let store = store.clone();
        let cases = cases.clone();
        async move {
            for (filter, direct) in cases {
                let (total, expected) = totals(&store, filter.clone(), &direct).await;
                assert_eq!(total, expected, "{label}: {filter}");
            }
        }
    };
    check("after inserts").await;

    sqlx::query("UPDATE port_ips SET operator_id = ? WHERE id % 7 = 0")
        .bind(mts)
        .execute(store.pool())
        .await
        .unwrap();
    sqlx::query("DELETE FROM port_ips WHERE id % 5 = 0")
        .execute(store.pool())
        .await
        .unwrap();
    check("after updates and deletes").await;

    sqlx::query("DELETE FROM ports WHERE id = ?")
        .bind(a)
        .execute(store.pool())
        .await
        .unwrap();
    check("after a port's history cascaded away").await;
    let leftover: i64 = sqlx::query_scalar(
        "SELECT coalesce(sum(row_count), 0) FROM port_ip_tally WHERE port_id = ?",
    )
    .bind(a)
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(leftover, 0);
}

/// Pages in the far half are read from the other end; every page must still hold exactly the
/// rows a forward walk would give, in order.
#[tokio::test]
async fn far_pages_read_backwards_match_forward_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_dir(dir.path()).await.unwrap();
    let megafon = store.operator_id("MegaFon RUS").await.unwrap();
    let a = port(&store, 1).await;
    for i in 0..47i64 {
        // Repeated IPs make ties that only the id breaks.
        store
            .record_port_ip(
                a,
                &format!("10.0.0.{}", i % 9),
                Some(megafon),
                None,
                None,
                100 - i,
            )
            .await
            .unwrap();
    }
    let conditions = parse_filter(
        Some(&json!({"operator__id": megafon})),
        &keys(PORT_IP_COLUMNS),
        chrono_tz::UTC,
    )
    .unwrap();
    for field in ["id", "oip", "date_create"] {
        for sort in ["asc", "desc"] {
            let all_page = parse_page(
                Some(&json!({"perpage": 1000, "field": field, "sort": sort})),
                &["id", "oip", "date_create"],
                SortDir::Asc,
            )
            .unwrap();
            let (_, all) = store
                .list_port_ips(Scope::All, &conditions, &all_page)
                .await
                .unwrap();
            assert_eq!(all.len(), 47);
            let mut paged = Vec::new();
            for number in 1..=7 {
                let page = parse_page(
                    Some(&json!({"perpage": 7, "page": number, "field": field, "sort": sort})),
                    &["id", "oip", "date_create"],
                    SortDir::Asc,
                )
                .unwrap();
                let (_, rows) = store
                    .list_port_ips(Scope::All, &conditions, &page)
                    .await
                    .unwrap();
                paged.extend(rows.into_iter().map(|r| r.id));
            }
            let expected: Vec<i64> = all.iter().map(|r| r.id).collect();
            assert_eq!(paged, expected, "{field} {sort}");
        }
    }
}
