"""Fulfillment: pick, pack and ship from every warehouse and store — shipments as records, bins and pick paths,
waves and pick lists, scan-to-pack, carriers (rates, labels, tracking), documents, drop-ship and store sales.

It owns shipments, their lines, packages and timeline, bins and waves. It reads orders, inventory and catalog
through their services; payments capture from its `shipment.shipped` events (via orders' `order.shipped`)."""
