-- The benchmark job in DuckDB SQL: orderpulse's default windows (1m tumbling, 10m sliding by 1m)
-- over one CSV file whose records are all accepted by orderpulse (bench/run.sh generates it so).
-- windows.mjs substitutes {{csv}} and {{out}} and runs the statements in order.
--
-- Plan: one scan of the CSV into per-minute panes (every window here slides by 1 minute, so the
-- minute is the pane), then each window is the sum of its panes: a pane is copied to the `size`
-- windows that hold it. Only pre-aggregated rows are copied, never raw records.

-- The two window specs, in config order; sizes in panes (minutes).
CREATE TEMP TABLE specs AS
SELECT * FROM (VALUES ('1m/1m', 0, 1), ('10m/1m', 1, 10)) s(name, ord, size);

-- The records, reduced to what the job needs: pane number, money in integer cents.
-- Types are given rather than sniffed; missing line/quantity default to 1, category to
-- 'unknown', as in orderpulse. The simulator writes event times as ISO-8601 UTC ('Z') and prices
-- with two decimals, so panes and cents are exact.
CREATE TEMP TABLE ev AS
SELECT epoch_ms(event_time) // 60000 AS pane,
       coalesce(line, 1) AS line,
       customer_id,
       product_id,
       coalesce(category, 'unknown') AS category,
       coalesce(quantity, 1) AS quantity,
       CAST(unit_price * 100 AS BIGINT) * coalesce(quantity, 1) AS cents
FROM read_csv('{{csv}}', header = true, auto_detect = false,
              columns = {'order_id': 'VARCHAR', 'line': 'BIGINT', 'customer_id': 'VARCHAR',
                         'product_id': 'VARCHAR', 'category': 'VARCHAR', 'quantity': 'BIGINT',
                         'unit_price': 'DECIMAL(18,2)', 'event_time': 'TIMESTAMP'});

-- Pane aggregates.
CREATE TEMP TABLE pane_tot AS
SELECT pane, count(*) AS lines, sum(quantity) AS items, count(*) FILTER (WHERE line = 1) AS orders,
       sum(cents) AS revenue
FROM ev GROUP BY pane;
CREATE TEMP TABLE pane_prod AS
SELECT pane, product_id, sum(cents) AS revenue, sum(quantity) AS items FROM ev GROUP BY pane, product_id;
CREATE TEMP TABLE pane_cat AS
SELECT pane, category, sum(cents) AS revenue FROM ev GROUP BY pane, category;
-- Distinct customers cannot be summed over panes. Instead: a customer counts in a window once, at
-- its earliest pane there. Pane p with the customer's previous active pane `prev` is that earliest
-- pane for the window starts in [max(p - size + 1, prev + 1), p]: +1 at the low end, -1 after p,
-- and a running sum over starts gives the exact count per window.
CREATE TEMP TABLE pane_cust AS
SELECT pane, lag(pane) OVER (PARTITION BY customer_id ORDER BY pane) AS prev
FROM (SELECT DISTINCT pane, customer_id FROM ev);
DROP TABLE ev;

-- Window totals: each pane goes to the `size` windows starting at pane - size + 1 .. pane.
CREATE TEMP TABLE win_tot AS
SELECT name, ord, size, start, sum(lines) AS lines, sum(items) AS items, sum(orders) AS orders,
       sum(revenue) AS revenue
FROM (SELECT name, ord, size, pane - unnest(range(size)) AS start, lines, items, orders, revenue
      FROM pane_tot, specs)
GROUP BY ALL;

CREATE TEMP TABLE win_cust AS
WITH delta AS (
  SELECT name, greatest(pane - size + 1, coalesce(prev + 1, pane - size + 1)) AS start, 1 AS d
  FROM pane_cust, specs
  UNION ALL SELECT name, pane + 1, -1 FROM pane_cust, specs
  UNION ALL SELECT name, start, 0 FROM win_tot),  -- so that every window start has a row
per_start AS (SELECT name, start, sum(d) AS d FROM delta GROUP BY ALL)
SELECT name, start, sum(d) OVER (PARTITION BY name ORDER BY start) AS customers FROM per_start;

-- Top 10 products by revenue, ties by product id: products get integer keys in id order (DuckDB
-- compares strings bytewise), so windows group on integers and max_by ranks on (revenue, -key).
CREATE TEMP TABLE prod_key AS
SELECT product_id, row_number() OVER (ORDER BY product_id) AS k FROM (SELECT DISTINCT product_id FROM pane_prod);
CREATE TEMP TABLE win_top AS
SELECT name, start,
       max_by({'product_id': product_id, 'revenue_cents': rev, 'items': its}, {'r': rev, 'k': -k}, 10)
         AS top_products
FROM (SELECT name, start, k, sum(revenue) AS rev, sum(items) AS its
      FROM (SELECT name, pane - unnest(range(size)) AS start, k, revenue, items
            FROM pane_prod JOIN prod_key USING (product_id), specs)
      GROUP BY ALL)
     JOIN prod_key USING (k)
GROUP BY ALL;

CREATE TEMP TABLE win_cat AS
SELECT name, start,
       list({'category': category, 'revenue_cents': revenue} ORDER BY revenue DESC, category) AS categories
FROM (SELECT name, start, category, sum(revenue) AS revenue
      FROM (SELECT name, pane - unnest(range(size)) AS start, category, revenue FROM pane_cat, specs)
      GROUP BY ALL)
GROUP BY ALL;

-- One JSON object per window, in orderpulse's order: by end, then config order, then start.
COPY (
  SELECT name AS window, start * 60000 AS start_ms, lines, items, orders, revenue AS revenue_cents,
         customers, top_products, categories
  FROM win_tot JOIN win_cust USING (name, start) JOIN win_top USING (name, start)
       JOIN win_cat USING (name, start)
  ORDER BY start + size, ord, start
) TO '{{out}}' (FORMAT json);
