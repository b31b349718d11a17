//! The control store's contract, one suite for both backends: every test body below runs once on
//! the embedded SQLite store (a temp dir) and once on PostgreSQL (a scratch database of its own on
//! the server of `OBJECTOS_TEST_PG_URL`), so both must give the same answers.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use objectos_spec::types::provisioning::{
    ProvisioningStepStatus as Step, TenantPlan, TenantProvisioningStatus as Status, TenantRegion,
};
use objectos_sql::testing::TestDatabase;
use objectos_store::{
    ControlConfig, ControlStore, ControlStores, DomainRecord, FinishedStep, KeyRecord, KeyState,
    NewTenant, StoreError, TenantChange, TenantFilter, STEP_NAMES,
};

/// A store and what keeps it alive (its folder or its database).
struct Fixture {
    store: ControlStores,
    _dir: tempfile::TempDir,
    _db: Option<TestDatabase>,
}

async fn sqlite() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = ControlStores::open(&ControlConfig::default(), dir.path())
        .await
        .unwrap();
    assert_eq!(store.backend(), "sqlite");
    Fixture {
        store,
        _dir: dir,
        _db: None,
    }
}

async fn postgres() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::create().await;
    let config = ControlConfig {
        url: Some(db.url.clone()),
        max_connections: 16,
        ..ControlConfig::default()
    };
    let store = ControlStores::open(&config, dir.path()).await.unwrap();
    assert_eq!(store.backend(), "postgres");
    Fixture {
        store,
        _dir: dir,
        _db: Some(db),
    }
}

/// Each test body, once per backend: `sqlite::<name>` and `postgres::<name>`.
macro_rules! suite {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let f = super::sqlite().await;
                    super::$name(&f.store).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let f = super::postgres().await;
                    super::$name(&f.store).await;
                }
            )*
        }
    };
}

suite!(
    create_tenant_inserts_it_with_pending_steps_and_an_event,
    create_tenant_of_the_same_org_returns_the_existing_one,
    a_tenant_id_held_by_another_org_is_refused,
    concurrent_creates_of_one_org_make_one_tenant,
    tenants_are_listed_newest_first_filtered_and_paged,
    tenants_with_status_lists_those_in_any_of_the_statuses,
    transition_moves_only_from_the_allowed_statuses,
    set_plan_changes_the_plan,
    delete_tenant_removes_everything_of_it_and_nothing_else,
    claim_takes_a_pending_step_and_refuses_it_under_a_live_lease,
    an_expired_lease_or_a_failed_step_is_claimed_again_as_a_retry,
    a_lease_is_renewed_by_its_owner_only_and_ended_by_its_owner,
    completed_or_skipped_or_unknown_steps_are_not_claimed,
    concurrent_claims_of_one_step_give_it_to_one,
    finish_records_outcome_duration_and_event,
    finish_and_claim_finishes_one_and_claims_the_next,
    events_are_ordered_by_sequence_and_per_tenant,
    concurrent_writers_never_make_a_reader_miss_an_event,
    keys_are_inserted_once_read_listed_and_revoked,
    set_keys_state_changes_only_unrevoked_keys,
    domains_are_inserted_read_listed_and_deleted,
    a_domain_already_mapped_is_a_conflict,
    settings_are_set_read_replaced_and_deleted,
    a_dump_lists_every_row_in_key_order,
);

fn new_tenant(org: &str, now_ms: i64) -> NewTenant {
    NewTenant {
        id: org.to_owned(),
        org_id: org.to_owned(),
        display_name: Some(format!("{org} Inc.")),
        admin_email: Some(format!("admin@{org}.example")),
        plan: TenantPlan::Pro,
        region: TenantRegion::EuWest,
        metadata: Some(r#"{"b":1,"a":[true,null]}"#.to_owned()),
        provider: "sqlite".to_owned(),
        connection_url: format!("file:/data/tenants/{org}.db"),
        initial_key_id: format!("key-{org}"),
        initial_key_hash: "ab".repeat(32),
        has_seed: false,
        now_ms,
    }
}

fn key(id: &str, tenant: &str, at: i64) -> KeyRecord {
    KeyRecord {
        key_id: id.to_owned(),
        tenant_id: tenant.to_owned(),
        scope: "full-access".to_owned(),
        hash: format!("hash-{id}"),
        created_at_ms: at,
        expires_at_ms: None,
        revoked_at_ms: None,
        state: KeyState::Active,
    }
}

fn mapping(domain: &str, tenant_id: &str, at: i64) -> DomainRecord {
    DomainRecord {
        domain: domain.to_owned(),
        tenant_id: tenant_id.to_owned(),
        created_at_ms: at,
    }
}

fn filter(
    status: Option<Status>,
    plan: Option<TenantPlan>,
    limit: u32,
    offset: u64,
) -> TenantFilter {
    TenantFilter {
        status,
        plan,
        limit,
        offset,
    }
}

async fn create_tenant_inserts_it_with_pending_steps_and_an_event(s: &ControlStores) {
    let (t, created) = s.create_tenant(new_tenant("acme", 1000)).await.unwrap();
    assert!(created);
    assert_eq!(t.id, "acme");
    assert_eq!(t.org_id, "acme");
    assert_eq!(t.display_name.as_deref(), Some("acme Inc."));
    assert_eq!(t.admin_email.as_deref(), Some("admin@acme.example"));
    assert_eq!(t.plan, TenantPlan::Pro);
    assert_eq!(t.region, TenantRegion::EuWest);
    assert_eq!(t.status, Status::Provisioning);
    assert_eq!(t.metadata.as_deref(), Some(r#"{"b":1,"a":[true,null]}"#));
    assert_eq!(t.connection_url, "file:/data/tenants/acme.db");
    assert_eq!(t.initial_key_id, "key-acme");
    assert_eq!((t.created_at_ms, t.updated_at_ms), (1000, 1000));
    assert_eq!(
        (t.error, t.provisioned_at_ms, t.destroy_after_ms),
        (None, None, None)
    );
    assert_eq!(s.tenant("acme").await.unwrap().unwrap().id, "acme");
    assert_eq!(s.tenant("nobody").await.unwrap(), None);

    let steps = s.steps("acme").await.unwrap();
    let names: Vec<&str> = steps.iter().map(|st| st.name.as_str()).collect();
    assert_eq!(names, STEP_NAMES);
    for (i, st) in steps.iter().enumerate() {
        assert_eq!(st.position, i as i64);
        assert_eq!(st.status, Step::Pending);
        assert_eq!(st.retry_count, 0);
        assert_eq!(
            (st.started_at_ms, st.lease_expires_at_ms, st.duration_us),
            (None, None, None)
        );
    }
    assert!(s.steps("nobody").await.unwrap().is_empty());
    let events = s.events("acme", 0).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, "status");
    assert_eq!(
        events[0].data,
        serde_json::json!({"status": "provisioning"})
    );
    assert_eq!(events[0].at_ms, 1000);
}

async fn create_tenant_of_the_same_org_returns_the_existing_one(s: &ControlStores) {
    let (first, _) = s.create_tenant(new_tenant("acme", 1000)).await.unwrap();
    let mut again = new_tenant("acme", 2000);
    again.plan = TenantPlan::Free;
    let (second, created) = s.create_tenant(again).await.unwrap();
    assert!(!created);
    assert_eq!(second, first, "the existing tenant, unchanged");
    assert_eq!(s.steps("acme").await.unwrap().len(), STEP_NAMES.len());
    assert_eq!(s.events("acme", 0).await.unwrap().len(), 1);
}

async fn a_tenant_id_held_by_another_org_is_refused(s: &ControlStores) {
    s.create_tenant(new_tenant("acme", 1000)).await.unwrap();
    let mut other = new_tenant("acme", 2000);
    other.org_id = "ACME".to_owned();
    let refused = s.create_tenant(other).await;
    assert!(
        matches!(&refused, Err(StoreError::TenantIdTaken { tenant_id, org_id }) if tenant_id == "acme" && org_id == "acme"),
        "{refused:?}"
    );
    let page = s.list_tenants(filter(None, None, 10, 0)).await.unwrap();
    assert_eq!(page.total, 1);
    assert_eq!(s.events("acme", 0).await.unwrap().len(), 1);
}

async fn concurrent_creates_of_one_org_make_one_tenant(s: &ControlStores) {
    let mut tasks = Vec::new();
    for i in 0..24 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.create_tenant(new_tenant("race", 1000 + i)).await
        }));
    }
    let mut created = 0;
    let mut seen = BTreeSet::new();
    for task in tasks {
        let (t, new) = task.await.unwrap().unwrap();
        created += usize::from(new);
        seen.insert((t.id, t.created_at_ms));
    }
    assert_eq!(created, 1, "exactly one call created it");
    assert_eq!(
        seen.len(),
        1,
        "every call answered with the same tenant: {seen:?}"
    );
    assert_eq!(
        s.list_tenants(filter(None, None, 10, 0))
            .await
            .unwrap()
            .total,
        1
    );
    assert_eq!(s.steps("race").await.unwrap().len(), STEP_NAMES.len());
    assert_eq!(s.events("race", 0).await.unwrap().len(), 1);
}

async fn tenants_are_listed_newest_first_filtered_and_paged(s: &ControlStores) {
    for (org, at, plan) in [
        ("a1", 10, TenantPlan::Free),
        ("b2", 30, TenantPlan::Pro),
        ("c3", 20, TenantPlan::Free),
        ("d4", 30, TenantPlan::Free),
    ] {
        let mut t = new_tenant(org, at);
        t.plan = plan;
        s.create_tenant(t).await.unwrap();
    }
    s.transition(
        "c3",
        &[Status::Provisioning],
        Status::Active,
        TenantChange::default(),
    )
    .await
    .unwrap();
    let ids = |page: objectos_store::TenantPage| -> (Vec<String>, u64) {
        (page.tenants.into_iter().map(|t| t.id).collect(), page.total)
    };
    assert_eq!(
        ids(s.list_tenants(filter(None, None, 10, 0)).await.unwrap()),
        (vec!["b2".into(), "d4".into(), "c3".into(), "a1".into()], 4),
        "newest first, then by id"
    );
    assert_eq!(
        ids(s.list_tenants(filter(None, None, 2, 1)).await.unwrap()),
        (vec!["d4".into(), "c3".into()], 4)
    );
    assert_eq!(
        ids(s.list_tenants(filter(None, None, 10, 9)).await.unwrap()),
        (vec![], 4)
    );
    assert_eq!(
        ids(s
            .list_tenants(filter(None, Some(TenantPlan::Free), 10, 0))
            .await
            .unwrap()),
        (vec!["d4".into(), "c3".into(), "a1".into()], 3)
    );
    assert_eq!(
        ids(s
            .list_tenants(filter(Some(Status::Active), None, 10, 0))
            .await
            .unwrap()),
        (vec!["c3".into()], 1)
    );
    assert_eq!(
        ids(s
            .list_tenants(filter(Some(Status::Active), Some(TenantPlan::Pro), 10, 0))
            .await
            .unwrap()),
        (vec![], 0)
    );
    assert_eq!(
        ids(s.list_tenants(filter(None, None, 0, 0)).await.unwrap()),
        (vec![], 4)
    );
}

async fn tenants_with_status_lists_those_in_any_of_the_statuses(s: &ControlStores) {
    for (org, at) in [("a1", 30), ("b2", 10), ("c3", 20)] {
        s.create_tenant(new_tenant(org, at)).await.unwrap();
    }
    s.transition(
        "b2",
        &[Status::Provisioning],
        Status::Failed,
        TenantChange::default(),
    )
    .await
    .unwrap();
    s.transition(
        "a1",
        &[Status::Provisioning],
        Status::Active,
        TenantChange::default(),
    )
    .await
    .unwrap();
    let ids = |v: Vec<objectos_store::TenantRecord>| -> Vec<String> {
        v.into_iter().map(|t| t.id).collect()
    };
    assert_eq!(
        ids(s
            .tenants_with_status(&[Status::Provisioning, Status::Failed])
            .await
            .unwrap()),
        ["b2", "c3"],
        "oldest first"
    );
    assert_eq!(
        ids(s.tenants_with_status(&[Status::Active]).await.unwrap()),
        ["a1"]
    );
    assert!(s
        .tenants_with_status(&[Status::Destroying])
        .await
        .unwrap()
        .is_empty());
    assert!(s.tenants_with_status(&[]).await.unwrap().is_empty());
}

async fn transition_moves_only_from_the_allowed_statuses(s: &ControlStores) {
    s.create_tenant(new_tenant("acme", 1000)).await.unwrap();
    assert!(s
        .transition(
            "nobody",
            &[Status::Provisioning],
            Status::Active,
            TenantChange::default()
        )
        .await
        .unwrap()
        .is_none());
    let (t, moved) = s
        .transition(
            "acme",
            &[Status::Active],
            Status::Suspended,
            TenantChange::default(),
        )
        .await
        .unwrap()
        .unwrap();
    assert!(!moved);
    assert_eq!(t.status, Status::Provisioning);
    assert_eq!(
        s.events("acme", 0).await.unwrap().len(),
        1,
        "no event when it did not move"
    );

    let failed = TenantChange {
        error: Some(Some("disk full".to_owned())),
        ..TenantChange::default()
    };
    let (t, moved) = s
        .transition("acme", &[Status::Provisioning], Status::Failed, failed)
        .await
        .unwrap()
        .unwrap();
    assert!(moved);
    assert_eq!(t.status, Status::Failed);
    assert_eq!(t.error.as_deref(), Some("disk full"));
    let last = s.events("acme", 0).await.unwrap().pop().unwrap();
    assert_eq!(last.kind, "status");
    assert_eq!(
        last.data,
        serde_json::json!({"status": "failed", "from": "provisioning", "error": "disk full"})
    );

    let active = TenantChange {
        error: Some(None),
        provisioned_at_ms: Some(5000),
        destroy_after_ms: Some(Some(9000)),
    };
    let (t, moved) = s
        .transition(
            "acme",
            &[Status::Failed, Status::Provisioning],
            Status::Active,
            active,
        )
        .await
        .unwrap()
        .unwrap();
    assert!(moved);
    assert_eq!(
        (t.status, t.error, t.provisioned_at_ms, t.destroy_after_ms),
        (Status::Active, None, Some(5000), Some(9000))
    );
    assert!(t.updated_at_ms > 1000);
    // Fields not named are kept.
    let (t, _) = s
        .transition(
            "acme",
            &[Status::Active],
            Status::Suspended,
            TenantChange::default(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (t.provisioned_at_ms, t.destroy_after_ms),
        (Some(5000), Some(9000))
    );
    let last = s.events("acme", 0).await.unwrap().pop().unwrap();
    assert_eq!(
        last.data,
        serde_json::json!({"status": "suspended", "from": "active"})
    );
    assert_eq!(s.tenant("acme").await.unwrap().unwrap(), t);
}

async fn set_plan_changes_the_plan(s: &ControlStores) {
    s.create_tenant(new_tenant("acme", 1000)).await.unwrap();
    let t = s
        .set_plan("acme", TenantPlan::Enterprise)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(t.plan, TenantPlan::Enterprise);
    assert!(t.updated_at_ms > 1000);
    assert_eq!(
        s.tenant("acme").await.unwrap().unwrap().plan,
        TenantPlan::Enterprise
    );
    assert!(s
        .set_plan("nobody", TenantPlan::Free)
        .await
        .unwrap()
        .is_none());
}

async fn delete_tenant_removes_everything_of_it_and_nothing_else(s: &ControlStores) {
    for org in ["acme", "beta"] {
        s.create_tenant(new_tenant(org, 1000)).await.unwrap();
        s.insert_key(key(&format!("k-{org}"), org, 1))
            .await
            .unwrap();
        s.insert_domain(mapping(&format!("{org}.example.com"), org, 1))
            .await
            .unwrap();
    }
    s.insert_domain(mapping("shop.example.com", "acme", 2))
        .await
        .unwrap();
    s.claim_step("acme", "create_database", "node-a", 100)
        .await
        .unwrap();
    assert!(s.delete_tenant("acme").await.unwrap());
    assert!(!s.delete_tenant("acme").await.unwrap(), "already gone");
    assert!(s.tenant("acme").await.unwrap().is_none());
    assert!(s.steps("acme").await.unwrap().is_empty());
    assert!(s.events("acme", 0).await.unwrap().is_empty());
    assert!(s.keys("acme").await.unwrap().is_empty());
    assert!(s.key("k-acme").await.unwrap().is_none());
    assert!(s.domains(Some("acme")).await.unwrap().is_empty());
    // The other tenant keeps everything.
    assert!(s.tenant("beta").await.unwrap().is_some());
    assert_eq!(s.steps("beta").await.unwrap().len(), STEP_NAMES.len());
    assert_eq!(s.events("beta", 0).await.unwrap().len(), 1);
    assert_eq!(s.keys("beta").await.unwrap().len(), 1);
    assert_eq!(
        s.domains(None).await.unwrap(),
        vec![mapping("beta.example.com", "beta", 1)]
    );
    // The id and the domains are free again.
    let (_, created) = s.create_tenant(new_tenant("acme", 3000)).await.unwrap();
    assert!(created);
    s.insert_domain(mapping("shop.example.com", "beta", 4))
        .await
        .unwrap();
}

async fn claim_takes_a_pending_step_and_refuses_it_under_a_live_lease(s: &ControlStores) {
    s.create_tenant(new_tenant("acme", 1000)).await.unwrap();
    let before = objectos_store::now_ms();
    let claimed = s
        .claim_step("acme", "create_database", "node-a", 60_000)
        .await
        .unwrap()
        .unwrap();
    let after = objectos_store::now_ms();
    assert!(!claimed.retry);
    assert_eq!(claimed.step.status, Step::Running);
    // The store's clock (the same machine's here, give or take a database round trip).
    let started = claimed.step.started_at_ms.unwrap();
    assert!(
        (before - 1000..=after + 1000).contains(&started),
        "{started}"
    );
    assert_eq!(claimed.step.lease_expires_at_ms, Some(started + 60_000));
    assert_eq!(claimed.step.lease_owner.as_deref(), Some("node-a"));
    assert_eq!(claimed.step.retry_count, 0);
    assert_eq!(s.steps("acme").await.unwrap()[0], claimed.step);
    // Under the live lease nobody gets it, its own owner included.
    for owner in ["node-b", "node-a"] {
        assert!(s
            .claim_step("acme", "create_database", owner, 60_000)
            .await
            .unwrap()
            .is_none());
    }
    let last = s.events("acme", 0).await.unwrap().pop().unwrap();
    assert_eq!(last.kind, "step");
    assert_eq!(last.data["step"], "create_database");
    assert_eq!(last.data["status"], "running");
    assert_eq!(last.data["retryCount"], 0);
    assert_eq!(
        s.events("acme", 0).await.unwrap().len(),
        2,
        "a refused claim records nothing"
    );
}

async fn an_expired_lease_or_a_failed_step_is_claimed_again_as_a_retry(s: &ControlStores) {
    s.create_tenant(new_tenant("acme", 1000)).await.unwrap();
    s.claim_step("acme", "create_database", "node-a", 50)
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(80)).await;
    let again = s
        .claim_step("acme", "create_database", "node-b", 500)
        .await
        .unwrap()
        .unwrap();
    assert!(again.retry, "the 50 ms lease expired");
    assert_eq!(again.step.retry_count, 1);
    assert_eq!(again.step.lease_owner.as_deref(), Some("node-b"));
    assert_eq!(
        again.step.lease_expires_at_ms,
        again.step.started_at_ms.map(|t| t + 500)
    );
    s.finish_step(
        "acme",
        "create_database",
        Step::Failed,
        Some("boom".into()),
        2600,
        None,
    )
    .await
    .unwrap();
    let retried = s
        .claim_step("acme", "create_database", "node-a", 500)
        .await
        .unwrap()
        .unwrap();
    assert!(retried.retry);
    assert_eq!(retried.step.retry_count, 2);
    assert_eq!(
        retried.step.error, None,
        "a new attempt clears the last error"
    );
    assert_eq!(retried.step.completed_at_ms, None);
}

async fn a_lease_is_renewed_by_its_owner_only_and_ended_by_its_owner(s: &ControlStores) {
    s.create_tenant(new_tenant("acme", 1000)).await.unwrap();
    let step = "create_database";
    s.claim_step("acme", step, "node-a", 300)
        .await
        .unwrap()
        .unwrap();
    assert!(!s.renew_lease("acme", step, "node-b", 300).await.unwrap());
    assert!(s.renew_lease("acme", step, "node-a", 60_000).await.unwrap());
    // Renewed past the first lease: still not claimable after it would have lapsed.
    tokio::time::sleep(std::time::Duration::from_millis(350)).await;
    assert!(s
        .claim_step("acme", step, "node-b", 300)
        .await
        .unwrap()
        .is_none());
    // Ending another node's leases leaves this one; its owner ending them frees it at once.
    assert_eq!(s.expire_leases_of("node-b").await.unwrap(), 0);
    assert_eq!(s.expire_leases_of("node-a").await.unwrap(), 1);
    let taken = s
        .claim_step("acme", step, "node-b", 300)
        .await
        .unwrap()
        .expect("an ended lease is claimable");
    assert!(taken.retry);
    // The old owner lost it: it can no longer renew it.
    assert!(!s.renew_lease("acme", step, "node-a", 300).await.unwrap());
    // A finished step has no lease left to renew or end.
    let done = s
        .finish_step(
            "acme",
            step,
            Step::Completed,
            None,
            objectos_store::now_ms(),
            None,
        )
        .await
        .unwrap();
    assert_eq!((done.lease_owner, done.lease_expires_at_ms), (None, None));
    assert!(!s.renew_lease("acme", step, "node-b", 300).await.unwrap());
    assert_eq!(s.expire_leases_of("node-b").await.unwrap(), 0);
}

async fn completed_or_skipped_or_unknown_steps_are_not_claimed(s: &ControlStores) {
    s.create_tenant(new_tenant("acme", 1000)).await.unwrap();
    s.finish_step(
        "acme",
        "create_database",
        Step::Completed,
        None,
        1100,
        Some(5),
    )
    .await
    .unwrap();
    s.finish_step("acme", "apply_seed_data", Step::Skipped, None, 1100, None)
        .await
        .unwrap();
    let events = s.events("acme", 0).await.unwrap().len();
    for step in ["create_database", "apply_seed_data", "no_such_step"] {
        assert!(
            s.claim_step("acme", step, "node-a", 10)
                .await
                .unwrap()
                .is_none(),
            "{step}"
        );
    }
    assert!(s
        .claim_step("nobody", "create_database", "node-a", 10)
        .await
        .unwrap()
        .is_none());
    assert_eq!(s.events("acme", 0).await.unwrap().len(), events);
}

async fn concurrent_claims_of_one_step_give_it_to_one(s: &ControlStores) {
    s.create_tenant(new_tenant("acme", 1000)).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.claim_step("acme", "sync_schema", "node-a", 60_000).await
        }));
    }
    let mut winners = 0;
    for task in tasks {
        winners += usize::from(task.await.unwrap().unwrap().is_some());
    }
    assert_eq!(winners, 1);
    let step = &s.steps("acme").await.unwrap()[1];
    assert_eq!((step.status, step.retry_count), (Step::Running, 0));
}

async fn finish_records_outcome_duration_and_event(s: &ControlStores) {
    s.create_tenant(new_tenant("acme", 1000)).await.unwrap();
    let t = s
        .claim_step("acme", "create_database", "node-a", 500)
        .await
        .unwrap()
        .unwrap()
        .step
        .started_at_ms
        .unwrap();
    let done = s
        .finish_step(
            "acme",
            "create_database",
            Step::Completed,
            None,
            t + 42,
            Some(41_917),
        )
        .await
        .unwrap();
    assert_eq!(done.status, Step::Completed);
    assert_eq!(done.started_at_ms, Some(t));
    assert_eq!(done.completed_at_ms, Some(t + 42));
    assert_eq!(done.duration_ms, Some(42));
    assert_eq!(done.duration_us, Some(41_917));
    assert_eq!(done.lease_expires_at_ms, None);
    assert_eq!(done.error, None);
    // A step finished without a claim (skipped) starts and ends at once.
    let skipped = s
        .finish_step("acme", "apply_seed_data", Step::Skipped, None, 3000, None)
        .await
        .unwrap();
    assert_eq!(
        (
            skipped.started_at_ms,
            skipped.completed_at_ms,
            skipped.duration_ms
        ),
        (Some(3000), Some(3000), Some(0))
    );
    let failed = s
        .finish_step(
            "acme",
            "sync_schema",
            Step::Failed,
            Some("no".into()),
            3100,
            None,
        )
        .await
        .unwrap();
    assert_eq!(failed.error.as_deref(), Some("no"));
    let events = s.events("acme", 0).await.unwrap();
    let last = &events[events.len() - 1].data;
    assert_eq!(last["step"], "sync_schema");
    assert_eq!(last["status"], "failed");
    assert_eq!(last["error"], "no");
    assert_eq!(events[2].data["durationMs"], 42);
    assert!(s
        .finish_step("acme", "no_such_step", Step::Completed, None, 1, None)
        .await
        .is_err());
}

async fn finish_and_claim_finishes_one_and_claims_the_next(s: &ControlStores) {
    s.create_tenant(new_tenant("acme", 1000)).await.unwrap();
    let t = s
        .claim_step("acme", "create_database", "node-a", 500)
        .await
        .unwrap()
        .unwrap()
        .step
        .started_at_ms
        .unwrap();
    let (done, next) = s
        .finish_and_claim(
            "acme",
            FinishedStep {
                name: "create_database".into(),
                status: Step::Completed,
                error: None,
                now_ms: t + 100,
                duration_us: Some(99_000),
            },
            "sync_schema",
            "node-a",
            700,
        )
        .await
        .unwrap();
    assert_eq!(
        (done.status, done.duration_ms),
        (Step::Completed, Some(100))
    );
    let next = next.unwrap();
    assert_eq!(next.step.name, "sync_schema");
    assert_eq!(next.step.status, Step::Running);
    assert_eq!(
        next.step.lease_expires_at_ms,
        next.step.started_at_ms.map(|t| t + 700)
    );
    assert_eq!(next.step.lease_owner.as_deref(), Some("node-a"));
    assert!(!next.retry);
    // The next step already running under a live lease: finished, nothing claimed.
    let (_, none) = s
        .finish_and_claim(
            "acme",
            FinishedStep {
                name: "apply_seed_data".into(),
                status: Step::Skipped,
                error: None,
                now_ms: 2200,
                duration_us: None,
            },
            "sync_schema",
            "node-a",
            700,
        )
        .await
        .unwrap();
    assert!(none.is_none());
    let kinds: Vec<String> = s
        .events("acme", 0)
        .await
        .unwrap()
        .into_iter()
        .map(|e| {
            format!(
                "{}:{}",
                e.data["step"].as_str().unwrap_or("-"),
                e.data["status"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "-:provisioning",
            "create_database:running",
            "create_database:completed",
            "sync_schema:running",
            "apply_seed_data:skipped"
        ]
    );
}

async fn events_are_ordered_by_sequence_and_per_tenant(s: &ControlStores) {
    s.create_tenant(new_tenant("acme", 1000)).await.unwrap();
    s.create_tenant(new_tenant("beta", 1000)).await.unwrap();
    for step in ["create_database", "sync_schema"] {
        s.claim_step("acme", step, "node-a", 100).await.unwrap();
        s.claim_step("beta", step, "node-a", 100).await.unwrap();
    }
    let acme = s.events("acme", 0).await.unwrap();
    assert_eq!(acme.len(), 3);
    assert!(acme.windows(2).all(|w| w[0].seq < w[1].seq), "{acme:?}");
    assert!(acme.iter().all(|e| e.tenant_id == "acme"));
    let after = s.events("acme", acme[0].seq).await.unwrap();
    assert_eq!(
        after,
        acme[1..].to_vec(),
        "only those after the given sequence number"
    );
    assert!(s.events("acme", acme[2].seq).await.unwrap().is_empty());
    assert!(s.events("nobody", 0).await.unwrap().is_empty());
    let beta = s.events("beta", 0).await.unwrap();
    let all: BTreeSet<i64> = acme.iter().chain(&beta).map(|e| e.seq).collect();
    assert_eq!(all.len(), 6, "sequence numbers are global and unique");
}

async fn concurrent_writers_never_make_a_reader_miss_an_event(s: &ControlStores) {
    s.create_tenant(new_tenant("acme", 1000)).await.unwrap();
    // Writers append events concurrently while a reader follows with `after_seq`, as the SSE
    // stream does; it must see every event, in order, exactly once.
    let writers: Vec<_> = (0..8)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                for j in 0..10 {
                    let (from, to) = if (i + j) % 2 == 0 {
                        (Status::Provisioning, Status::Active)
                    } else {
                        (Status::Active, Status::Provisioning)
                    };
                    s.transition("acme", &[from, to], to, TenantChange::default())
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    let mut seen = Vec::new();
    let mut after = 0;
    loop {
        let done = writers.iter().all(|w| w.is_finished());
        for e in s.events("acme", after).await.unwrap() {
            after = e.seq;
            seen.push(e.seq);
        }
        if done {
            break;
        }
        tokio::task::yield_now().await;
    }
    for w in writers {
        w.await.unwrap();
    }
    let all: Vec<i64> = s
        .events("acme", 0)
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(all.len(), 81);
    assert_eq!(seen, all, "the follower saw every event once, in order");
}

async fn keys_are_inserted_once_read_listed_and_revoked(s: &ControlStores) {
    s.create_tenant(new_tenant("acme", 1000)).await.unwrap();
    s.create_tenant(new_tenant("beta", 1000)).await.unwrap();
    s.insert_key(key("k2", "acme", 20)).await.unwrap();
    s.insert_key(key("k1", "acme", 10)).await.unwrap();
    s.insert_key(key("k0", "acme", 20)).await.unwrap();
    s.insert_key(key("kb", "beta", 5)).await.unwrap();
    // Inserting an existing id again changes nothing (a re-run step).
    let mut changed = key("k1", "acme", 99);
    changed.hash = "other".into();
    s.insert_key(changed).await.unwrap();
    assert_eq!(s.key("k1").await.unwrap(), Some(key("k1", "acme", 10)));
    assert_eq!(s.key("nope").await.unwrap(), None);
    let ids: Vec<String> = s
        .keys("acme")
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.key_id)
        .collect();
    assert_eq!(ids, ["k1", "k0", "k2"], "oldest first, then by id");

    assert!(s.revoke_key("acme", "k1", 500).await.unwrap());
    assert_eq!(s.key("k1").await.unwrap().unwrap().revoked_at_ms, Some(500));
    assert!(
        s.revoke_key("acme", "k1", 600).await.unwrap(),
        "revoking again is harmless"
    );
    assert_eq!(
        s.key("k1").await.unwrap().unwrap().revoked_at_ms,
        Some(500),
        "the first revocation time is kept"
    );
    assert!(
        !s.revoke_key("acme", "kb", 700).await.unwrap(),
        "another tenant's key"
    );
    assert!(!s.revoke_key("acme", "nope", 700).await.unwrap());
    assert_eq!(s.key("kb").await.unwrap().unwrap().revoked_at_ms, None);
    // A key for a tenant that does not exist is refused by the database.
    assert!(s.insert_key(key("kx", "nobody", 1)).await.is_err());
}

async fn set_keys_state_changes_only_unrevoked_keys(s: &ControlStores) {
    s.create_tenant(new_tenant("acme", 1000)).await.unwrap();
    s.create_tenant(new_tenant("beta", 1000)).await.unwrap();
    for (id, tenant) in [("k1", "acme"), ("k2", "acme"), ("kb", "beta")] {
        s.insert_key(key(id, tenant, 1)).await.unwrap();
    }
    s.revoke_key("acme", "k2", 5).await.unwrap();
    s.set_keys_state("acme", KeyState::ReadOnly).await.unwrap();
    let state = |id: &'static str| async move { s.key(id).await.unwrap().unwrap().state };
    assert_eq!(state("k1").await, KeyState::ReadOnly);
    assert_eq!(
        state("k2").await,
        KeyState::Active,
        "a revoked key stays as it was"
    );
    assert_eq!(state("kb").await, KeyState::Active, "another tenant's key");
    s.set_keys_state("acme", KeyState::Suspended).await.unwrap();
    assert_eq!(state("k1").await, KeyState::Suspended);
    s.set_keys_state("acme", KeyState::Active).await.unwrap();
    assert_eq!(state("k1").await, KeyState::Active);
    s.set_keys_state("nobody", KeyState::Suspended)
        .await
        .unwrap();
}

async fn domains_are_inserted_read_listed_and_deleted(s: &ControlStores) {
    s.insert_domain(mapping("shop.example.com", "acme", 10))
        .await
        .unwrap();
    s.insert_domain(mapping("acme.example.org", "acme", 11))
        .await
        .unwrap();
    s.insert_domain(mapping("beta.example.net", "beta", 12))
        .await
        .unwrap();
    s.insert_domain(mapping("b-z.example.net", "beta", 13))
        .await
        .unwrap();
    assert_eq!(
        s.domain("shop.example.com").await.unwrap(),
        Some(mapping("shop.example.com", "acme", 10))
    );
    assert_eq!(s.domain("nowhere.example.com").await.unwrap(), None);
    assert_eq!(
        s.domain("SHOP.example.com").await.unwrap(),
        None,
        "looked up exactly"
    );
    let all: Vec<String> = s
        .domains(None)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.domain)
        .collect();
    assert_eq!(
        all,
        [
            "acme.example.org",
            "b-z.example.net",
            "beta.example.net",
            "shop.example.com"
        ],
        "sorted by domain, bytewise"
    );
    assert_eq!(
        s.domains(Some("acme")).await.unwrap(),
        vec![
            mapping("acme.example.org", "acme", 11),
            mapping("shop.example.com", "acme", 10)
        ]
    );
    assert!(s.domains(Some("nobody")).await.unwrap().is_empty());
    assert!(s.delete_domain("shop.example.com").await.unwrap());
    assert!(!s.delete_domain("shop.example.com").await.unwrap());
    assert_eq!(s.domain("shop.example.com").await.unwrap(), None);
    assert_eq!(s.domains(None).await.unwrap().len(), 3);
}

async fn a_domain_already_mapped_is_a_conflict(s: &ControlStores) {
    s.insert_domain(mapping("shop.example.com", "acme", 10))
        .await
        .unwrap();
    for owner in ["acme", "beta"] {
        let refused = s
            .insert_domain(mapping("shop.example.com", owner, 20))
            .await;
        assert!(
            matches!(&refused, Err(StoreError::DuplicateDomain(d)) if d == "shop.example.com"),
            "{refused:?}"
        );
    }
    assert_eq!(
        s.domain("shop.example.com").await.unwrap(),
        Some(mapping("shop.example.com", "acme", 10)),
        "the first mapping is untouched"
    );
}

async fn settings_are_set_read_replaced_and_deleted(s: &ControlStores) {
    assert_eq!(s.setting("installation_id").await.unwrap(), None);
    s.set_setting("installation_id", "os-1").await.unwrap();
    s.set_setting("other", "x").await.unwrap();
    assert_eq!(
        s.setting("installation_id").await.unwrap().as_deref(),
        Some("os-1")
    );
    s.set_setting("installation_id", "os-2").await.unwrap();
    assert_eq!(
        s.setting("installation_id").await.unwrap().as_deref(),
        Some("os-2")
    );
    s.delete_setting("installation_id").await.unwrap();
    s.delete_setting("never-set").await.unwrap();
    assert_eq!(s.setting("installation_id").await.unwrap(), None);
    assert_eq!(s.setting("other").await.unwrap().as_deref(), Some("x"));
}

async fn a_dump_lists_every_row_in_key_order(s: &ControlStores) {
    assert!(s.dump().await.unwrap().is_empty());
    for org in ["beta", "acme"] {
        s.create_tenant(new_tenant(org, 1000)).await.unwrap();
        s.insert_key(key(&format!("k-{org}"), org, 1))
            .await
            .unwrap();
    }
    s.insert_domain(mapping("z.example.com", "acme", 1))
        .await
        .unwrap();
    s.set_setting("installation_id", "os-1").await.unwrap();
    let dump = s.dump().await.unwrap();
    assert_eq!(
        dump.counts(),
        [
            ("tenants", 2),
            ("steps", 10),
            ("events", 2),
            ("api_keys", 2),
            ("domains", 1),
            ("settings", 1)
        ]
    );
    assert_eq!(dump.tenants[0].id, "acme");
    assert_eq!(dump.steps[0].tenant_id, "acme");
    assert_eq!(dump.steps[0].step.name, "create_database");
    assert_eq!(
        dump.events[0].tenant_id, "beta",
        "events by sequence number"
    );
    assert_eq!(dump.content_hash(), s.dump().await.unwrap().content_hash());
}

/// What only the PostgreSQL store has: its schema migrations and its connection.
mod postgres_only {
    use super::*;
    use objectos_store::{ErrorKind, PgControlOptions, PgControlStore, PG_SCHEMA_VERSION};
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn nodes_starting_at_once_migrate_the_schema_once() {
        let db = TestDatabase::create().await;
        let opens: Vec<_> = (0..6)
            .map(|_| {
                let url = db.url.clone();
                tokio::spawn(
                    async move { PgControlStore::connect(&PgControlOptions::new(url)).await },
                )
            })
            .collect();
        let mut stores = Vec::new();
        for open in opens {
            stores.push(open.await.unwrap().unwrap());
        }
        for store in &stores {
            assert_eq!(store.schema_version().await.unwrap(), PG_SCHEMA_VERSION);
        }
        let pool = db.pool().await;
        let applied: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM objectos_control.schema_migrations")
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!(applied, PG_SCHEMA_VERSION, "each migration applied once");
        // Opening again keeps the data.
        stores[0]
            .set_setting("installation_id", "os-1")
            .await
            .unwrap();
        let again = PgControlStore::connect(&PgControlOptions::new(db.url.clone()))
            .await
            .unwrap();
        assert_eq!(
            again.setting("installation_id").await.unwrap().as_deref(),
            Some("os-1")
        );
    }

    #[tokio::test]
    async fn a_schema_from_a_newer_objectos_is_refused() {
        let db = TestDatabase::create().await;
        PgControlStore::connect(&PgControlOptions::new(db.url.clone()))
            .await
            .unwrap();
        let pool = db.pool().await;
        sqlx::query("INSERT INTO objectos_control.schema_migrations VALUES (999, 0)")
            .execute(&pool)
            .await
            .unwrap();
        let refused = PgControlStore::connect(&PgControlOptions::new(db.url.clone())).await;
        let message = refused.unwrap_err().to_string();
        assert!(message.contains("version 999"), "{message}");
        assert!(message.contains("upgrade objectos"), "{message}");
    }

    #[tokio::test]
    async fn a_malformed_url_is_a_configuration_error() {
        for url in [
            "mysql://x@127.0.0.1/db",
            "postgres://[::1/nope",
            "file:control.db",
        ] {
            let refused = PgControlStore::connect(&PgControlOptions::new(url)).await;
            assert!(
                matches!(refused, Err(StoreError::Config(_))),
                "{url}: {refused:?}"
            );
        }
    }

    #[tokio::test]
    async fn an_unreachable_server_is_a_connection_error_without_the_password() {
        // A port nothing listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut options = PgControlOptions::new(format!(
            "postgres://objectos:s3cret@127.0.0.1:{port}/control"
        ));
        options.acquire_timeout = Duration::from_millis(500);
        let started = std::time::Instant::now();
        let error = PgControlStore::connect(&options).await.unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(10));
        assert_eq!(error.kind(), Some(&ErrorKind::Connection), "{error:?}");
        let message = error.to_string();
        assert!(
            message.contains(&format!("postgres://127.0.0.1:{port}/control")),
            "{message}"
        );
        assert!(!message.contains("s3cret"), "{message}");
    }

    #[tokio::test]
    async fn a_copy_goes_only_into_an_empty_store_and_keeps_every_row() {
        let source = super::sqlite().await;
        for org in ["acme", "beta"] {
            source
                .store
                .create_tenant(new_tenant(org, 1000))
                .await
                .unwrap();
            source
                .store
                .insert_key(key(&format!("k-{org}"), org, 1))
                .await
                .unwrap();
        }
        source
            .store
            .claim_step("acme", "create_database", "node-a", 50)
            .await
            .unwrap();
        source
            .store
            .insert_domain(mapping("shop.example.com", "acme", 1))
            .await
            .unwrap();
        source
            .store
            .set_setting("installation_id", "os-1")
            .await
            .unwrap();
        let dump = source.store.dump().await.unwrap();

        let target = super::postgres().await;
        let ControlStores::Postgres(pg) = &target.store else {
            unreachable!()
        };
        pg.load(&dump).await.unwrap();
        let copied = target.store.dump().await.unwrap();
        assert_eq!(copied.summary(), dump.summary());
        assert_eq!(copied, dump);
        // New events continue after the copied ones.
        let last = dump.events.iter().map(|e| e.seq).max().unwrap();
        target
            .store
            .claim_step("beta", "create_database", "node-a", 50)
            .await
            .unwrap();
        let newest = target.store.events("beta", 0).await.unwrap().pop().unwrap();
        assert!(newest.seq > last, "{} > {last}", newest.seq);

        // A second copy is refused and changes nothing.
        let before = target.store.dump().await.unwrap();
        let refused = pg.load(&dump).await.unwrap_err().to_string();
        assert!(refused.contains("not empty"), "{refused}");
        assert_eq!(target.store.dump().await.unwrap(), before);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn two_stores_on_one_database_create_an_org_once() {
        // Two pools, as two nodes would have.
        let db = TestDatabase::create().await;
        let a = PgControlStore::connect(&PgControlOptions::new(db.url.clone()))
            .await
            .unwrap();
        let b = PgControlStore::connect(&PgControlOptions::new(db.url.clone()))
            .await
            .unwrap();
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let store = if i % 2 == 0 { a.clone() } else { b.clone() };
                tokio::spawn(async move { store.create_tenant(new_tenant("race", i)).await })
            })
            .collect();
        let mut created = 0;
        for task in tasks {
            created += usize::from(task.await.unwrap().unwrap().1);
        }
        assert_eq!(created, 1);
        assert_eq!(a.steps("race").await.unwrap().len(), STEP_NAMES.len());
        assert_eq!(b.events("race", 0).await.unwrap().len(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn an_event_writer_waits_for_the_tenants_earlier_writer() {
        // Sequence numbers are taken at insert: were two writers of one tenant not serialised, the
        // later-numbered event could commit first and a follower reading "after seq" would skip
        // the other. A transaction holding the tenant's row (as every event write does) makes the
        // store's next event write wait for its commit.
        let f = super::postgres().await;
        let s = &f.store;
        s.create_tenant(new_tenant("acme", 1000)).await.unwrap();
        let pool = f._db.as_ref().unwrap().pool().await;
        let mut tx = pool.begin().await.unwrap();
        sqlx::query("SELECT id FROM objectos_control.tenants WHERE id = 'acme' FOR NO KEY UPDATE")
            .execute(&mut *tx)
            .await
            .unwrap();
        let first: i64 = sqlx::query_scalar(
            "INSERT INTO objectos_control.events (tenant_id, kind, data, at) \
             VALUES ('acme', 'status', '{}', 1) RETURNING seq",
        )
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        let writer = {
            let s = s.clone();
            tokio::spawn(async move {
                // A claim locks only its step's row itself: the wait is the event's.
                s.claim_step("acme", "create_database", "node-a", 500)
                    .await
                    .unwrap()
            })
        };
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!writer.is_finished(), "the second writer waits");
        assert!(
            s.events("acme", 1).await.unwrap().is_empty(),
            "nothing after the first event is visible before it commits"
        );
        tx.commit().await.unwrap();
        writer.await.unwrap();
        let seqs: Vec<i64> = s
            .events("acme", 0)
            .await
            .unwrap()
            .iter()
            .map(|e| e.seq)
            .collect();
        assert_eq!(seqs.len(), 3);
        assert_eq!(seqs[1], first);
        assert!(seqs[2] > first);
    }
}
