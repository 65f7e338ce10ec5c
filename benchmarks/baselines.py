"""The baselines, written by hand as a researcher with the database (or the exported CSV) would.

Each function returns SQL text for one vendor (`postgresql` or `sqlite`); `%(rate_table)s` is the
`ecb` rate table's id and `%(donor)s` a donor code, bound as parameters. Values are converted as
the API converts them (SPEC rule 4, `fx=announcement`): each line at the last ECB rate on or
before its pledge's announcement date, EUR as it is.
"""

LINES = """
    FROM aid_line l
    JOIN aid_pledge p ON p.id = l.pledge_id
    JOIN aid_party d ON d.id = p.donor_id
    JOIN aid_category c ON c.id = l.category_id
"""


def rate(vendor: str) -> str:
    """The line's value in EUR (NULL without a rate)."""
    lookup = (
        "(SELECT r.per_eur FROM aid_rate r WHERE r.table_id = %(rate_table)s "
        "AND r.currency = l.currency AND r.date <= p.announced_on ORDER BY r.date DESC LIMIT 1)"
    )
    if vendor == "sqlite":
        return f"l.value / CASE WHEN l.currency = 'EUR' THEN 1.0 ELSE CAST({lookup} AS REAL) END"
    return f"l.value / CASE WHEN l.currency = 'EUR' THEN 1 ELSE {lookup} END"


def period(vendor: str, unit: str) -> str:
    if vendor == "sqlite":
        if unit == "year":
            return "strftime('%%Y', p.announced_on)"
        return (
            "strftime('%%Y', p.announced_on) || '-Q' || "
            "((CAST(strftime('%%m', p.announced_on) AS INTEGER) + 2) / 3)"
        )
    if unit == "year":
        return "to_char(p.announced_on, 'YYYY')"
    return "to_char(p.announced_on, 'YYYY-\"Q\"Q')"


def value_totals(vendor: str, donor: bool, stored: bool = True) -> str:
    """Value by donor × category × year, withdrawn pledges and drafts left out (as the API
    leaves them). `stored` reads the ledger's own value in EUR (`aid_line.value_eur`, as the API
    does); otherwise each line is converted here, which checks that stored figure."""
    where = "p.status <> 'withdrawn' AND p.review = 'verified'" + (
        " AND d.code = %(donor)s" if donor else ""
    )
    converted = "l.value_eur" if stored else rate(vendor)
    return f"""
        SELECT donor, category, period, COUNT(DISTINCT pledge_id), COUNT(*), SUM(converted),
               SUM(CASE WHEN value IS NULL THEN 1 ELSE 0 END),
               SUM(CASE WHEN value IS NOT NULL AND converted IS NULL THEN 1 ELSE 0 END)
        FROM (
            SELECT d.code AS donor, c.slug AS category, {period(vendor, "year")} AS period,
                   l.pledge_id, l.value, {converted} AS converted
            {LINES}
            WHERE {where}
        ) lines
        GROUP BY donor, category, period
        ORDER BY donor, category, period
    """


def quantity_cumulative(vendor: str) -> str:
    """Quantity by category × unit × quarter, running along the quarters of each group."""
    return f"""
        SELECT category, unit, period,
               SUM(pledges) OVER w, SUM(lines) OVER w, SUM(quantity) OVER w,
               SUM(unspecified) OVER w
        FROM (
            SELECT c.slug AS category, l.unit, {period(vendor, "quarter")} AS period,
                   COUNT(DISTINCT l.pledge_id) AS pledges, COUNT(*) AS lines,
                   SUM(l.quantity) AS quantity,
                   SUM(CASE WHEN l.quantity IS NULL THEN 1 ELSE 0 END) AS unspecified
            {LINES}
            WHERE p.status <> 'withdrawn' AND p.review = 'verified'
            GROUP BY 1, 2, 3
        ) grouped
        WINDOW w AS (PARTITION BY category, unit ORDER BY period)
        ORDER BY category, unit, period
    """


def source_urls(vendor: str) -> str:
    """A pledge's source URLs in the order they were linked, separated by spaces."""
    if vendor == "sqlite":
        return (
            "(SELECT group_concat(url, ' ') FROM (SELECT s.url FROM sources_pledgesource ps "
            "JOIN sources_source s ON s.id = ps.source_id WHERE ps.pledge_id = p.id "
            "AND s.url IS NOT NULL ORDER BY ps.id))"
        )
    return (
        "(SELECT string_agg(s.url, ' ' ORDER BY ps.id) FROM sources_pledgesource ps "
        "JOIN sources_source s ON s.id = ps.source_id WHERE ps.pledge_id = p.id "
        "AND s.url IS NOT NULL)"
    )


def lines_page(vendor: str, size: int) -> str:
    """The first page of a donor's lines in a date range, in the API's (the export's) order."""
    return f"""
        SELECT l.id, p.ref, l.line_no, d.code, r.code, p.announced_on, p.date_precision,
               o.name, p.official_title, p.package, p.status, l.description, t.name, c.slug,
               l.quantity, l.quantity_qualifier, l.unit, l.value, l.currency, l.value_basis,
               {source_urls(vendor)}
        {LINES}
        JOIN aid_party r ON r.id = p.recipient_id
        LEFT JOIN aid_official o ON o.id = p.official_id
        LEFT JOIN aid_itemtype t ON t.id = l.item_type_id
        WHERE d.code = %(donor)s AND p.announced_on >= %(after)s AND p.announced_on <= %(before)s
          AND p.status <> 'withdrawn' AND p.review = 'verified'
        ORDER BY p.announced_on DESC, p.ref, l.line_no
        LIMIT {size}
    """


def export(vendor: str) -> str:
    """Every line, the canonical CSV's columns in its order (value_eur to the cent)."""
    value_eur = (
        "ROUND(CAST(l.value_eur AS REAL), 2)" if vendor == "sqlite" else "ROUND(l.value_eur, 2)"
    )
    return f"""
        SELECT p.ref AS pledge_ref, l.line_no, d.code AS donor, d.name AS donor_name,
               r.code AS recipient, p.announced_on, p.date_precision, o.name AS official,
               p.official_title, p.package, l.description AS item, t.name AS item_type,
               c.slug AS category, l.quantity, l.quantity_qualifier, l.unit, l.value,
               l.currency, l.value_basis, {value_eur} AS value_eur, p.status, p.review,
               {source_urls(vendor)} AS source_urls, p.notes
        {LINES}
        JOIN aid_party r ON r.id = p.recipient_id
        LEFT JOIN aid_official o ON o.id = p.official_id
        LEFT JOIN aid_itemtype t ON t.id = l.item_type_id
        ORDER BY p.announced_on DESC, p.ref, l.line_no
    """


def duckdb_value_totals(path: str, donor: str | None) -> str:
    """The same totals from the exported CSV, whose value_eur the export already converted."""
    where = "status <> 'withdrawn'" + (f" AND donor = '{donor}'" if donor else "")
    return f"""
        SELECT donor, category, CAST(year(announced_on) AS VARCHAR) AS period,
               COUNT(DISTINCT pledge_ref), COUNT(*), SUM(value_eur),
               COUNT(*) FILTER (WHERE value IS NULL),
               COUNT(*) FILTER (WHERE value IS NOT NULL AND value_eur IS NULL)
        FROM read_csv('{path}', header = true,
                      types = {{'announced_on': 'DATE', 'value': 'DECIMAL(18,2)',
                               'value_eur': 'DECIMAL(18,2)', 'donor': 'VARCHAR',
                               'category': 'VARCHAR', 'status': 'VARCHAR',
                               'pledge_ref': 'VARCHAR'}})
        WHERE {where}
        GROUP BY ALL
        ORDER BY ALL
    """
