"""Finance use cases: the chart of accounts, the journal (posted from business events), periods and the trial
balance. The context's only public face."""

from ordersmith.finance.service._common import (
    Account,
    JournalEntry,
    JournalLine,
    Mapping,
    Period,
    TrialBalance,
    TrialBalanceRow,
)
from ordersmith.finance.service.accounts import (
    create_account,
    ensure_chart,
    get_account,
    list_accounts,
    list_mappings,
    set_mapping,
    update_account,
)
from ordersmith.finance.service.costs import item_costs
from ordersmith.finance.service.exports import export_journal
from ordersmith.finance.service.journal import (
    ManualLine,
    PeriodClosed,
    close_period,
    find_entry_for_event,
    get_entry,
    list_journal,
    list_periods,
    post_manual_entry,
    reopen_period,
    reverse_entry,
    trial_balance,
)
from ordersmith.finance.service.posting import (
    on_events,
    post_event,
    post_events,
    register,
    replay_outbox,
    unposted_amount,
    unregister,
)
from ordersmith.finance.service.receivables import (
    BUCKETS as AGING_BUCKETS,
)
from ordersmith.finance.service.receivables import (
    Aging,
    AgingRow,
    CustomerStatement,
    Reconciliation,
    StatementItem,
    ar_aging,
    customer_statement,
)
from ordersmith.finance.service.statements import (
    BalanceSheet,
    IncomeStatement,
    balance_sheet,
    income_statement,
)

__all__ = [
    "AGING_BUCKETS",
    "Account",
    "Aging",
    "AgingRow",
    "BalanceSheet",
    "CustomerStatement",
    "IncomeStatement",
    "JournalEntry",
    "JournalLine",
    "ManualLine",
    "Mapping",
    "Period",
    "PeriodClosed",
    "Reconciliation",
    "StatementItem",
    "TrialBalance",
    "TrialBalanceRow",
    "ar_aging",
    "balance_sheet",
    "close_period",
    "create_account",
    "customer_statement",
    "ensure_chart",
    "export_journal",
    "find_entry_for_event",
    "get_account",
    "get_entry",
    "income_statement",
    "item_costs",
    "list_accounts",
    "list_journal",
    "list_mappings",
    "list_periods",
    "on_events",
    "post_event",
    "post_events",
    "post_manual_entry",
    "register",
    "reopen_period",
    "replay_outbox",
    "reverse_entry",
    "set_mapping",
    "trial_balance",
    "unposted_amount",
    "unregister",
    "update_account",
]
