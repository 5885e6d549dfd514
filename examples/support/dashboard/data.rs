//! The partner dashboard's made-up data (examples/partner_dashboard.rs): customers with their
//! subscriptions, customer requests and partner requests.

use serde::Serialize;

/// One subscription of a customer.
#[derive(Serialize)]
pub struct Subscription {
    pub offer: &'static str,
    pub licences: u32,
    pub billing: &'static str,
    pub renews: &'static str,
}

/// A customer tenant the partner manages.
#[derive(Serialize)]
pub struct Customer {
    pub id: &'static str,
    pub name: &'static str,
    pub domain: &'static str,
    pub tenant: &'static str,
    pub country: &'static str,
    pub relationship: &'static str,
    pub status: &'static str,
    pub subscriptions: &'static [Subscription],
}

/// A support request.
#[derive(Serialize)]
pub struct Ticket {
    pub id: &'static str,
    pub who: &'static str,
    pub title: &'static str,
    pub severity: &'static str,
    pub status: &'static str,
    pub updated: &'static str,
}

const fn sub(
    offer: &'static str,
    licences: u32,
    billing: &'static str,
    renews: &'static str,
) -> Subscription {
    Subscription {
        offer,
        licences,
        billing,
        renews,
    }
}

/// The customers (Customers tab: MFA).
pub static CUSTOMERS: &[Customer] = &[
    Customer {
        id: "adatum",
        name: "Adatum Corporation",
        domain: "adatum.example",
        tenant: "3f1c9a52-6d0e-4b7a-9c1e-2a8d5f0b7e41",
        country: "United States",
        relationship: "Delegated admin",
        status: "Active",
        subscriptions: &[
            sub(
                "Microsoft 365 Business Premium",
                120,
                "Monthly",
                "2027-03-01",
            ),
            sub("Azure plan", 1, "Pay as you go", "-"),
        ],
    },
    Customer {
        id: "alpine-ski-house",
        name: "Alpine Ski House",
        domain: "alpineskihouse.example",
        tenant: "b2d47e10-93c5-4f28-8a61-0c5e9d3b2f77",
        country: "Switzerland",
        relationship: "Reseller",
        status: "Active",
        subscriptions: &[sub("Microsoft 365 E3", 45, "Annual", "2027-01-15")],
    },
    Customer {
        id: "fourth-coffee",
        name: "Fourth Coffee",
        domain: "fourthcoffee.example",
        tenant: "7a90c3e4-1b2f-4d6e-8f03-5c4b2a1d9e86",
        country: "Portugal",
        relationship: "Delegated admin",
        status: "Active",
        subscriptions: &[
            sub(
                "Microsoft 365 Business Standard",
                18,
                "Monthly",
                "2026-12-20",
            ),
            sub("Exchange Online (Plan 1)", 6, "Monthly", "2026-12-20"),
        ],
    },
    Customer {
        id: "northwind-traders",
        name: "Northwind Traders",
        domain: "northwindtraders.example",
        tenant: "e5c2b8a1-4f7d-4e93-b0a6-1d8c3f5e2a90",
        country: "Canada",
        relationship: "Delegated admin",
        status: "Active",
        subscriptions: &[
            sub("Dynamics 365 Sales Enterprise", 32, "Annual", "2027-06-30"),
            sub("Microsoft 365 E5", 210, "Annual", "2027-06-30"),
            sub("Azure plan", 1, "Pay as you go", "-"),
        ],
    },
    Customer {
        id: "tailspin-toys",
        name: "Tailspin Toys",
        domain: "tailspintoys.example",
        tenant: "0d6f1e3b-8c2a-4b59-9e71-4a3c5d2f8b16",
        country: "Brazil",
        relationship: "Reseller",
        status: "Suspended",
        subscriptions: &[sub(
            "Microsoft 365 Business Basic",
            9,
            "Monthly",
            "2026-12-05",
        )],
    },
    Customer {
        id: "wide-world-importers",
        name: "Wide World Importers",
        domain: "wideworldimporters.example",
        tenant: "91a4d7c2-5e3b-4f80-a6d1-8b2e0c7f3a55",
        country: "United Kingdom",
        relationship: "Delegated admin",
        status: "Active",
        subscriptions: &[
            sub("Microsoft 365 Business Premium", 64, "Annual", "2027-02-10"),
            sub(
                "Microsoft Defender for Business",
                64,
                "Annual",
                "2027-02-10",
            ),
        ],
    },
];

/// Requests opened for customers (Support > Customer requests: MFA).
pub static CUSTOMER_REQUESTS: &[Ticket] = &[
    Ticket {
        id: "CR-20481",
        who: "Northwind Traders",
        title: "Cannot assign E5 licences to new hires",
        severity: "B",
        status: "New",
        updated: "Today, 09:12",
    },
    Ticket {
        id: "CR-20477",
        who: "Adatum Corporation",
        title: "Mailbox migration stalled at 80%",
        severity: "A",
        status: "In progress",
        updated: "Today, 08:40",
    },
    Ticket {
        id: "CR-20463",
        who: "Fourth Coffee",
        title: "Invoice shows duplicate Exchange charge",
        severity: "C",
        status: "Pending",
        updated: "Yesterday",
    },
    Ticket {
        id: "CR-20410",
        who: "Wide World Importers",
        title: "Reset admin MFA for the global administrator",
        severity: "B",
        status: "Resolved",
        updated: "3 days ago",
    },
];

/// The partner's own requests (Support > Partner requests: sign-in only).
pub static PARTNER_REQUESTS: &[Ticket] = &[
    Ticket {
        id: "PR-7712",
        who: "Partner support",
        title: "Incentive payout for Q3 missing",
        severity: "C",
        status: "In progress",
        updated: "Today, 10:02",
    },
    Ticket {
        id: "PR-7698",
        who: "Partner support",
        title: "Add a second billing administrator",
        severity: "C",
        status: "Resolved",
        updated: "Last week",
    },
    Ticket {
        id: "PR-7655",
        who: "Partner support",
        title: "Question about the new commerce experience",
        severity: "C",
        status: "Pending",
        updated: "2 weeks ago",
    },
];
