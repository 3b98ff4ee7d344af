// Domain values of the 2.0.0 record contract (winter_days/records.py), as SQL lists, so the
// staging checks route rows outside the contract to quarantine instead of loading them.
const REGIONS = "('North', 'South', 'East', 'West')";
const PRODUCT_CATEGORIES =
  "('Electronics', 'Home', 'Fashion', 'Sports', 'Books', 'Beauty', 'Toys', 'Grocery')";
const SALE_STATUSES = "('completed', 'pending', 'refunded', 'cancelled')";
const PAYMENT_METHODS = "('credit_card', 'debit_card', 'paypal', 'bank_transfer', 'gift_card')";
const CARD_PAYMENT_METHODS = "('credit_card', 'debit_card')";
const CURRENCIES = "('USD')";

const EVENT_TYPES = "('page_view', 'product_view', 'add_to_cart', 'checkout', 'purchase')";
const DEVICE_TYPE_CATEGORIES = "('desktop', 'mobile', 'tablet')";

const SECTORS =
  "('fintech', 'healthtech', 'edtech', 'climate', 'ai', 'ecommerce', 'logistics', 'biotech')";
const FUNDING_STAGES = "('pre_seed', 'seed', 'series_a', 'series_b', 'series_c', 'growth')";
const VALUATION_BUCKETS = "('under_10m', '10m_100m', '100m_1b', 'over_1b')";
const LOAD_TYPES = "('full', 'delta')";

// JSONL flows are read as one-column CSV so that a line that is not JSON is a row to
// quarantine rather than a failed load. JSON text never holds a raw U+001F (control
// characters must be escaped in JSON), so no valid line is ever split.
const RAW_LINE_DELIMITER = "\\x1f";

module.exports = {
  REGIONS,
  PRODUCT_CATEGORIES,
  SALE_STATUSES,
  PAYMENT_METHODS,
  CARD_PAYMENT_METHODS,
  CURRENCIES,
  EVENT_TYPES,
  DEVICE_TYPE_CATEGORIES,
  SECTORS,
  FUNDING_STAGES,
  VALUATION_BUCKETS,
  LOAD_TYPES,
  RAW_LINE_DELIMITER,
};
