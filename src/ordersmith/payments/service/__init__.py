"""Payment use cases: placing an order with its payment, captures, voids and refunds, gift cards and store credit,
checks, invoices on account, gateway notifications, and verifying wallet (PayPal) tenders.

Invariants: no card number outside the vault (payments hold vault or gateway tokens, brand and last four); for
every payment captured ≤ authorized and refunded ≤ captured under any concurrency; a gift card's balance never
below zero; every money movement is a row in the append-only transaction log.
"""

from ordersmith.payments.service._common import (
    CaptureExceedsAuthorized,
    GatewayTimedOut,
    GiftCardBalanceInsufficient,
    Payment,
    PaymentDeclined,
    Payments,
    RefundExceedsRefundable,
    TooManyRequests,
    Transaction,
    setup_payments,
    wiring,
)
from ordersmith.payments.service.checkout import add_tender, place_paid_order
from ordersmith.payments.service.gift_cards import (
    GiftCard,
    IssuedCard,
    LedgerEntry,
    balance,
    get_gift_card,
    issue,
    list_gift_cards,
    reload,
)
from ordersmith.payments.service.invoices import (
    Invoice,
    InvoicePayment,
    apply_invoice_payment,
    get_invoice,
    list_invoices,
    open_balance,
)
from ordersmith.payments.service.lifecycle import (
    capture_shipped,
    cover_total,
    move_check,
    receive_notification,
    register,
    resolve_pending_authorizations,
    settle_cancelled,
)
from ordersmith.payments.service.operations import (
    Refunded,
    capture_payment,
    get_payment,
    order_payments,
    refund_order,
    refund_payment,
    void_payment,
)
from ordersmith.payments.service.wallets import verify_wallet
from ordersmith.payments.wallets import WalletCheck, WalletUnavailable

__all__ = [
    "CaptureExceedsAuthorized",
    "GatewayTimedOut",
    "GiftCard",
    "GiftCardBalanceInsufficient",
    "Invoice",
    "InvoicePayment",
    "IssuedCard",
    "LedgerEntry",
    "Payment",
    "PaymentDeclined",
    "Payments",
    "RefundExceedsRefundable",
    "Refunded",
    "TooManyRequests",
    "Transaction",
    "WalletCheck",
    "WalletUnavailable",
    "add_tender",
    "apply_invoice_payment",
    "balance",
    "capture_payment",
    "capture_shipped",
    "cover_total",
    "get_gift_card",
    "get_invoice",
    "get_payment",
    "issue",
    "list_gift_cards",
    "list_invoices",
    "move_check",
    "open_balance",
    "order_payments",
    "place_paid_order",
    "receive_notification",
    "refund_order",
    "refund_payment",
    "register",
    "reload",
    "resolve_pending_authorizations",
    "settle_cancelled",
    "setup_payments",
    "verify_wallet",
    "void_payment",
    "wiring",
]
