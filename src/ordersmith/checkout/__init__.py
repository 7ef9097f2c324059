"""Checkout: the way in for every order. Price once, plan the tenders, authorize cards with no transaction open,
then place the order and record its tenders in one transaction; add tenders to a placed order without ever
collecting more than is unpaid; the one credit decision; who may say an order is paid.

Checkout sits above orders and payments and uses both through their services; neither imports checkout.
"""
