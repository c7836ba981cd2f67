-- A common search term is matched with LIKE over these three columns and counted by a
-- scan: this index holds just them, so the scan reads a few MB instead of every row
-- with its stored request (cold, that scan took most of a second for 100 000 rows).
CREATE INDEX payments_text ON payments (profile_id, custom, customer_email, payment_id);
