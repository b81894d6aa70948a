"""Cards (Luhn, brand, BIN table), IBAN/BIC (schwifty) and crypto wallets (A3, A4, B2)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from stdnum import luhn

from cloudcip.identity import (
    BinTable,
    BinTableError,
    IdentityFieldError,
    card_brand,
    validate_bic,
    validate_card_expiry,
    validate_card_number,
    validate_iban,
    validate_wallet,
)
from cloudcip.identity.wallet_formats import eip55_checksum_case

CARD = "payment_means.0.number"
TODAY = date(2026, 11, 28)

# Public test card numbers published by the card networks and payment processors.
CARDS = [
    ("4111 1111 1111 1111", "visa"),
    ("4012888888881881", "visa"),
    ("5555-5555-5555-4444", "mastercard"),
    ("2223003122003222", "mastercard"),
    ("378282246310005", "amex"),
    ("6011111111111117", "discover"),
    ("3530111333300000", "jcb"),
    ("6200000000000005", "unionpay"),
    ("30569309025904", "diners"),
    ("6759649826438453", "maestro"),
]


@pytest.mark.parametrize(("number", "brand"), CARDS)
def test_valid_cards(number: str, brand: str) -> None:
    """A4/B2: test cards pass Luhn, get their brand and only first six / last four for display."""
    check = validate_card_number(number, CARD)
    digits = number.replace(" ", "").replace("-", "")
    assert (check.normalized, check.brand) == (digits, brand)
    assert (check.first6, check.last4) == (digits[:6], digits[-4:])
    assert check.masked.startswith(digits[:6]) and check.masked.endswith(digits[-4:])
    assert set(check.masked[6:-4]) == {"*"}
    assert check.flags == []


@pytest.mark.parametrize(
    ("prefix", "brand"),
    [
        ("2221", "mastercard"),
        ("2720", "mastercard"),
        ("2721", None),
        ("2220", None),
        ("622126", "discover"),
        ("622925", "discover"),
        ("622926", "unionpay"),
        ("3528", "jcb"),
        ("3590", None),
        ("309", None),
    ],
)
def test_brand_boundaries(prefix: str, brand: str | None) -> None:
    """A4: IIN range boundaries, including Mastercard 2221-2720 and Discover inside UnionPay's 62."""
    assert card_brand(prefix.ljust(16, "0")) == brand


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("4111111111111112", "Luhn check digit fails"),
        ("4111-1111-1111-111a", "digits only"),
        ("41111111111", "12 to 19 digits"),
        ("4" * 20, "12 to 19 digits"),
        ("４１１１１１１１１１１１１１１１", "digits only"),
    ],
)
def test_invalid_cards(number: str, reason: str) -> None:
    """A4: bad card numbers fail with the field named and the number never echoed."""
    with pytest.raises(IdentityFieldError, match=reason) as caught:
        validate_card_number(number, CARD)
    assert caught.value.problems[0].field == CARD
    assert number not in str(caught.value) and number[-4:] not in str(caught.value)


def test_unknown_brand_and_odd_length_are_flags() -> None:
    """A4: a Luhn-valid number outside known ranges, or of an unusual length, is flagged, not refused."""
    unknown = "999999999999999" + luhn.calc_check_digit("999999999999999")
    assert validate_card_number(unknown, CARD).flags == ["unknown_brand"]
    visa15 = "41111111111111" + luhn.calc_check_digit("41111111111111")
    odd = validate_card_number(visa15, CARD)
    assert odd.brand == "visa" and odd.flags == ["length_unusual_for_brand"]


@pytest.mark.parametrize(
    ("expiry", "normalized"), [("2026-11", "2026-11"), ("12/26", "2026-12"), ("01/2030", "2030-01")]
)
def test_expiry_not_in_the_past(expiry: str, normalized: str) -> None:
    """A4: a card is good through its expiry month, measured against the injected today."""
    assert validate_card_expiry(expiry, "payment_means.0.expiry", TODAY) == normalized


@pytest.mark.parametrize(
    ("expiry", "reason"),
    [
        ("2026-10", "expired"),
        ("10/26", "expired"),
        ("2026-13", "01 to 12"),
        ("next year", "YYYY-MM"),
        ("2099-01", "implausibly"),
    ],
)
def test_bad_expiry(expiry: str, reason: str) -> None:
    """A4: past, malformed or absurd expiry months fail."""
    with pytest.raises(IdentityFieldError, match=reason):
        validate_card_expiry(expiry, "payment_means.0.expiry", TODAY)


BIN_CSV = """bin_start,bin_end,country,issuer
400000,499999,GB,Wide range
411111,411111,US,Test Bank
41111150,41111199,CA,
510000,519999,de,
"""


def test_bin_table_lookup_prefers_the_narrowest_range(tmp_path: Path) -> None:
    """A4: the issuer country comes from the operator's BIN table; nested ranges resolve to the narrowest."""
    path = tmp_path / "bins.csv"
    path.write_text(BIN_CSV, encoding="utf-8")
    table = BinTable.from_csv(path)
    assert len(table) == 4
    assert table.issuer_country("4111 1111 1111 1111") == "US"
    assert table.issuer_country("4111115011111111") == "CA"
    assert table.issuer_country("4222222222222") == "GB"
    assert table.issuer_country("5105105105105100") == "DE"
    assert table.issuer_country("6011111111111117") is None
    assert table.issuer_country("41") is None
    check = validate_card_number("4111111111111111", CARD, table)
    assert (check.issuer_country, check.issuer) == ("US", "Test Bank")
    assert validate_card_number("6011111111111117", CARD, table).flags == ["bin_not_in_table"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("start,end,country\n", "columns"),
        ("bin_start,bin_end,country\n41111,411111,US\n", "line 2"),
        ("bin_start,bin_end,country\n411111,411111,XX\n", "alpha-2"),
        ("bin_start,bin_end,country\n411112,411111,US\n", "after"),
    ],
)
def test_bin_table_rejects_bad_rows(text: str, message: str) -> None:
    """A4: a malformed BIN import fails naming the line, before any lookup happens."""
    with pytest.raises(BinTableError, match=message):
        BinTable.from_text(text)


def test_bin_table_scales_by_bisection() -> None:
    """A4: many disjoint ranges still resolve correctly (bisect, not a scan)."""
    rows = ["bin_start,bin_end,country"] + [f"{n:06d},{n:06d},{'US' if n % 2 else 'FR'}" for n in range(400000, 420000)]
    table = BinTable.from_text("\n".join(rows))
    assert table.issuer_country("4123450000000000") == "US"
    assert table.issuer_country("4123460000000000") == "FR"
    assert table.issuer_country("4300000000000000") is None


@pytest.mark.parametrize(
    ("iban", "compact", "country", "bank"),
    [
        ("DE89 3704 0044 0532 0130 00", "DE89370400440532013000", "DE", "37040044"),
        ("gb82 west 1234 5698 7654 32", "GB82WEST12345698765432", "GB", "WEST"),
        ("FR1420041010050500013M02606", "FR1420041010050500013M02606", "FR", "20041"),
    ],
)
def test_valid_ibans(iban: str, compact: str, country: str, bank: str) -> None:
    """A4: IBANs pass schwifty's checks and normalise to the compact upper-case form."""
    check = validate_iban(iban, "payment_means.1.iban")
    assert (check.normalized, check.country, check.bank_code) == (compact, country, bank)
    assert check.masked == compact[:4] + "*" * (len(compact) - 8) + compact[-4:]


def test_iban_bic_from_bank_registry() -> None:
    """A4: schwifty's bank registry supplies the BIC where it knows the bank code."""
    assert validate_iban("DE89370400440532013000", "iban").bic == "COBADEFFXXX"


@pytest.mark.parametrize(
    ("iban", "reason"),
    [
        ("DE89370400440532013001", "check digits fail"),
        ("DE8937040044053201300", "wrong length"),
        ("XX89370400440532013000", "country code"),
        ("not an iban", "IBAN"),
    ],
)
def test_invalid_ibans(iban: str, reason: str) -> None:
    """A4: schwifty's failures become field problems with our own wording, no value echoed."""
    with pytest.raises(IdentityFieldError, match=reason) as caught:
        validate_iban(iban, "payment_means.1.iban")
    assert str(caught.value).startswith("payment_means.1.iban: ")
    assert iban not in str(caught.value) and iban[4:12] not in str(caught.value)


def test_bic() -> None:
    """A4: BICs are split into their parts; unknown ones are flagged; malformed ones fail."""
    check = validate_bic("deutdeff500", "payment_means.1.bic")
    assert (check.normalized, check.country, check.bank_code, check.location_code, check.branch_code) == (
        "DEUTDEFF500",
        "DE",
        "DEUT",
        "FF",
        "500",
    )
    assert check.flags == []
    assert validate_bic("ZZZZDEFF", "bic").flags == ["bic_not_in_registry"]
    for bad, reason in (("DEUTDEF", "8 or 11"), ("DEUTXXFF", "country"), ("DEUTDE!F", "ISO 9362")):
        with pytest.raises(IdentityFieldError, match=reason):
            validate_bic(bad, "payment_means.1.bic")


WALLETS = [
    # Bitcoin genesis-block address (P2PKH), BIP-13 P2SH example, BIP-173 and BIP-350 test vectors.
    ("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "bitcoin", "p2pkh", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"),
    ("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "bitcoin", "p2sh", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"),
    ("BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "bitcoin", "p2wpkh", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"),
    (
        "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3",
        "bitcoin",
        "p2wsh",
        "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3",
    ),
    (
        "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
        "bitcoin",
        "p2tr",
        "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
    ),
    ("LaMT348PWRnrqeeWArpwQPbuanpXDZGEUz", "litecoin", "p2pkh", "LaMT348PWRnrqeeWArpwQPbuanpXDZGEUz"),
    ("TJCnKsPa7y5okkXvQAidZBzqx3QyQ6sxMW", "tron", "base58check", "TJCnKsPa7y5okkXvQAidZBzqx3QyQ6sxMW"),
]


@pytest.mark.parametrize(("address", "network", "kind", "normalized"), WALLETS)
def test_wallets_with_verified_checksums(address: str, network: str, kind: str, normalized: str) -> None:
    """A4/B2: checksummed wallet formats are verified, detected and normalised for blind indexes."""
    check = validate_wallet(address, "payment_means.2.address")
    assert (check.network, check.address_type, check.normalized) == (network, kind, normalized)
    assert check.checksum_verified and check.flags == []
    assert validate_wallet(address, "w", network=network).normalized == normalized


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb", "checksum fails for bitcoin"),
        ("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5", "checksum fails for bitcoin segwit"),
        # BIP-350: a v1+ program with a bech32 (not bech32m) checksum, and a v0 one with bech32m.
        ("bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "checksum fails"),
        ("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh", "checksum fails"),
        ("bc1qW508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "mixes upper and lower case"),
        ("not-a-wallet", "not a recognised wallet address"),
    ],
)
def test_invalid_wallets(address: str, reason: str) -> None:
    """A4: failing checksums and mixed-case bech32 are refused without echoing the address."""
    with pytest.raises(IdentityFieldError, match=reason) as caught:
        validate_wallet(address, "payment_means.2.address")
    assert address not in str(caught.value)


EIP55_EXAMPLES = [
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
    "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
]


@pytest.mark.parametrize("address", EIP55_EXAMPLES)
def test_ethereum_eip55_examples(address: str) -> None:
    """A4: the EIP-55 examples pass with their checksum verified."""
    check = validate_wallet(address, "w")
    assert check.network == "ethereum" and check.normalized == address.lower()
    assert eip55_checksum_case(address[2:].lower()) == address[2:]
    assert check.checksum_verified and check.flags == []


def test_ethereum_single_case_and_malformed() -> None:
    """A4: single-case Ethereum addresses carry no checksum; malformed ones fail."""
    check = validate_wallet("0x" + "AB" * 20, "w")
    assert check.normalized == "0x" + "ab" * 20 and check.flags == ["no_checksum_in_address"]
    with pytest.raises(IdentityFieldError, match="40 hexadecimal"):
        validate_wallet("0x" + "ab" * 19, "w")
    with pytest.raises(IdentityFieldError, match="40 hexadecimal"):
        validate_wallet("0x" + "ab" * 19 + "zz", "w", network="ethereum")


def test_ethereum_bad_mixed_case_fails() -> None:
    """A4: a flipped letter case fails EIP-55."""
    with pytest.raises(IdentityFieldError, match="EIP-55"):
        validate_wallet("0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "w")


def test_format_only_networks_and_network_mismatch() -> None:
    """A4: Monero and Solana are checked by format and flagged; a stated network must match."""
    monero = "4" + "A" * 94
    assert validate_wallet(monero, "w").flags == ["format_only"]
    solana = validate_wallet("7EcDhSYGxXyscszYEp35KHN8vvw3svAuLKTzXwCFLtV", "w")
    assert (solana.network, solana.flags) == ("solana", ["format_only"])
    other = validate_wallet(
        "addr1qx2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzer3n0d3vllmyqwsx5wktcd8cc3sq835lu7drv2xwl2wywfgse35a3x",
        "w",
        network="cardano",
    )
    assert other.flags == ["unknown_network"] and other.network == "cardano"
    with pytest.raises(IdentityFieldError, match="is not a litecoin address"):
        validate_wallet("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "w", network="litecoin")
