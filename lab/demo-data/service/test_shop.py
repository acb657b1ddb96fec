from shop import cart_total, price_with_tax


def test_price_with_tax():
    assert price_with_tax(1000, 20) == 1200


def test_rounding():
    assert price_with_tax(999, 7) == 1069


def test_cart_total():
    assert cart_total([(250, 2), (100, 3)]) == 800
