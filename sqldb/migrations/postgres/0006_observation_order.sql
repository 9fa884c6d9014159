-- CLINK schema, version 6 (PostgreSQL): observations are listed in (day, id) order; this index lets
-- a list across cultures (an analysis reads them all) walk the index instead of sorting every
-- observation for each page.

CREATE INDEX observations_day_id ON observations (day, id);
