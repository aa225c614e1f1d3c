"""What the tests share: each helper once, imported by package (``from tests.support.crm import ...``)."""
