"""A tiny service module for the demo's build gate."""


def price_with_tax(cents: int, rate_percent: int) -> int:
    return cents + (cents * rate_percent + 50) // 100


def cart_total(items: list[tuple[int, int]]) -> int:
    return sum(cents * qty for cents, qty in items)
