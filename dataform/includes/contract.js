// Generated from the record contract (winter_days/records/__init__.py) by winter_days/records/sql.py;
// do not edit: change the contract, then run `python -m winter_days.records.sql`.
//
// SQL fragments of the stg_*_checked models, per flow. A JSON Lines model reads `line`
// and `beyond_delimiter` (the external table's columns) and selects, CTE by CTE:
//   document AS doc; then texts (each field's text); then values (typed fields);
//   then rejectReason (the first rule broken, null when none) over all of them;
//   columns lists the typed fields, payload the line as the quarantine keeps it.
// The sales model applies rejectReason to a bronze Parquet row.

const sales = {
  rejectReason: `CASE
      WHEN invalid_fields IS NOT NULL THEN CONCAT('wrong type: ', invalid_fields)
      WHEN document_id IS NULL THEN 'missing required field: document_id'
      WHEN document_update_seq IS NULL THEN 'missing required field: document_update_seq'
      WHEN exported_at IS NULL THEN 'missing required field: exported_at'
      WHEN sale_id IS NULL OR TRIM(sale_id) = '' THEN 'missing required field: sale_id'
      WHEN customer_id IS NULL OR TRIM(customer_id) = '' THEN 'missing required field: customer_id'
      WHEN customer_name IS NULL AND customer_name_pseudonym IS NULL THEN 'missing required field: customer_name'
      WHEN region IS NULL THEN 'missing required field: region'
      WHEN product_id IS NULL THEN 'missing required field: product_id'
      WHEN product_category IS NULL THEN 'missing required field: product_category'
      WHEN quantity IS NULL THEN 'missing required field: quantity'
      WHEN unit_price IS NULL THEN 'missing required field: unit_price'
      WHEN total_amount IS NULL THEN 'missing required field: total_amount'
      WHEN currency IS NULL THEN 'missing required field: currency'
      WHEN status IS NULL THEN 'missing required field: status'
      WHEN payment_method IS NULL THEN 'missing required field: payment_method'
      WHEN contact_email_hashed IS NULL THEN 'missing required field: contact_email_hashed'
      WHEN sale_timestamp IS NULL AND sale_timestamp_raw IS NULL THEN 'missing required field: sale_timestamp'
      WHEN schema_version IS NULL THEN 'missing required field: schema_version'
      WHEN sale_timestamp IS NULL THEN CONCAT('unparseable timestamp: sale_timestamp = ', sale_timestamp_raw)
      WHEN REGEXP_CONTAINS(CONCAT(COALESCE(sale_id, ''), COALESCE(customer_id, ''), COALESCE(region, ''), COALESCE(product_id, ''), COALESCE(product_category, ''), COALESCE(currency, ''), COALESCE(status, ''), COALESCE(payment_method, ''), COALESCE(contact_email_hashed, ''), COALESCE(credit_card_last4, ''), COALESCE(schema_version, '')), r'[\\x00-\\x1f\\x7f\\x{FFFD}]')
        THEN CASE
          WHEN REGEXP_CONTAINS(sale_id, r'[\\x00-\\x1f\\x7f]') THEN 'invalid text: sale_id holds a control character'
          WHEN STRPOS(sale_id, '\\uFFFD') > 0 THEN 'invalid text: sale_id holds U+FFFD, the mark of bytes that were not UTF-8 (or of a lone surrogate, replaced)'
          WHEN REGEXP_CONTAINS(customer_id, r'[\\x00-\\x1f\\x7f]') THEN 'invalid text: customer_id holds a control character'
          WHEN STRPOS(customer_id, '\\uFFFD') > 0 THEN 'invalid text: customer_id holds U+FFFD, the mark of bytes that were not UTF-8 (or of a lone surrogate, replaced)'
          WHEN REGEXP_CONTAINS(region, r'[\\x00-\\x1f\\x7f]') THEN 'invalid text: region holds a control character'
          WHEN STRPOS(region, '\\uFFFD') > 0 THEN 'invalid text: region holds U+FFFD, the mark of bytes that were not UTF-8 (or of a lone surrogate, replaced)'
          WHEN REGEXP_CONTAINS(product_id, r'[\\x00-\\x1f\\x7f]') THEN 'invalid text: product_id holds a control character'
          WHEN STRPOS(product_id, '\\uFFFD') > 0 THEN 'invalid text: product_id holds U+FFFD, the mark of bytes that were not UTF-8 (or of a lone surrogate, replaced)'
          WHEN REGEXP_CONTAINS(product_category, r'[\\x00-\\x1f\\x7f]') THEN 'invalid text: product_category holds a control character'
          WHEN STRPOS(product_category, '\\uFFFD') > 0 THEN 'invalid text: product_category holds U+FFFD, the mark of bytes that were not UTF-8 (or of a lone surrogate, replaced)'
          WHEN REGEXP_CONTAINS(currency, r'[\\x00-\\x1f\\x7f]') THEN 'invalid text: currency holds a control character'
          WHEN STRPOS(currency, '\\uFFFD') > 0 THEN 'invalid text: currency holds U+FFFD, the mark of bytes that were not UTF-8 (or of a lone surrogate, replaced)'
          WHEN REGEXP_CONTAINS(status, r'[\\x00-\\x1f\\x7f]') THEN 'invalid text: status holds a control character'
          WHEN STRPOS(status, '\\uFFFD') > 0 THEN 'invalid text: status holds U+FFFD, the mark of bytes that were not UTF-8 (or of a lone surrogate, replaced)'
          WHEN REGEXP_CONTAINS(payment_method, r'[\\x00-\\x1f\\x7f]') THEN 'invalid text: payment_method holds a control character'
          WHEN STRPOS(payment_method, '\\uFFFD') > 0 THEN 'invalid text: payment_method holds U+FFFD, the mark of bytes that were not UTF-8 (or of a lone surrogate, replaced)'
          WHEN REGEXP_CONTAINS(contact_email_hashed, r'[\\x00-\\x1f\\x7f]') THEN 'invalid text: contact_email_hashed holds a control character'
          WHEN STRPOS(contact_email_hashed, '\\uFFFD') > 0 THEN 'invalid text: contact_email_hashed holds U+FFFD, the mark of bytes that were not UTF-8 (or of a lone surrogate, replaced)'
          WHEN REGEXP_CONTAINS(credit_card_last4, r'[\\x00-\\x1f\\x7f]') THEN 'invalid text: credit_card_last4 holds a control character'
          WHEN STRPOS(credit_card_last4, '\\uFFFD') > 0 THEN 'invalid text: credit_card_last4 holds U+FFFD, the mark of bytes that were not UTF-8 (or of a lone surrogate, replaced)'
          WHEN REGEXP_CONTAINS(schema_version, r'[\\x00-\\x1f\\x7f]') THEN 'invalid text: schema_version holds a control character'
          WHEN STRPOS(schema_version, '\\uFFFD') > 0 THEN 'invalid text: schema_version holds U+FFFD, the mark of bytes that were not UTF-8 (or of a lone surrogate, replaced)'
        END
      WHEN region NOT IN ('North', 'South', 'East', 'West')
        THEN CONCAT('invalid value: region = ', region)
      WHEN product_category NOT IN ('Electronics', 'Home', 'Fashion', 'Sports', 'Books', 'Beauty', 'Toys', 'Grocery')
        THEN CONCAT('invalid value: product_category = ', product_category)
      WHEN NOT (quantity >= 1 AND quantity <= 10000)
        THEN CONCAT('out of range: quantity = ', CAST(quantity AS STRING), ' (allowed: 1 <= value <= 10000)')
      WHEN NOT (unit_price > 0 AND unit_price <= 1000000)
        THEN CONCAT('out of range: unit_price = ', CAST(unit_price AS STRING), ' (allowed: 0 < value <= 1000000)')
      WHEN NOT (total_amount > 0 AND total_amount <= 1000000)
        THEN CONCAT('out of range: total_amount = ', CAST(total_amount AS STRING), ' (allowed: 0 < value <= 1000000)')
      WHEN currency NOT IN ('USD')
        THEN CONCAT('invalid value: currency = ', currency)
      WHEN status NOT IN ('completed', 'pending', 'refunded', 'cancelled')
        THEN CONCAT('invalid value: status = ', status)
      WHEN payment_method NOT IN ('credit_card', 'debit_card', 'paypal', 'bank_transfer', 'gift_card')
        THEN CONCAT('invalid value: payment_method = ', payment_method)
      WHEN NOT REGEXP_CONTAINS(contact_email_hashed, r'^[0-9a-f]{64}$')
        THEN 'invalid value: contact_email_hashed is not a SHA-256 hex digest'
      WHEN NOT REGEXP_CONTAINS(credit_card_last4, r'^[0-9]{4}$')
        THEN 'invalid value: credit_card_last4 is not 4 digits'
      WHEN sale_timestamp < TIMESTAMP '2000-01-01 00:00:00+00' OR TIMESTAMP_DIFF(sale_timestamp, exported_at, MICROSECOND) > 86400000000
        THEN CONCAT('implausible timestamp: sale_timestamp = ', sale_timestamp_raw, ' (allowed: from 2000-01-01 to a day after the load time)')
      WHEN (payment_method IN ('credit_card', 'debit_card')) != (credit_card_last4 IS NOT NULL)
        THEN 'invalid value: credit_card_last4 must be set exactly when payment_method is a card'
    END`,
};

const clickstream = {
  document: `IF(CHAR_LENGTH(line) > 65536, NULL, SAFE.PARSE_JSON(line))`,
  texts: `JSON_VALUE(doc, '$.event_id') AS event_id,
    JSON_VALUE(doc, '$.session_id') AS session_id,
    JSON_VALUE(doc, '$.user_id') AS user_id,
    JSON_VALUE(doc, '$.event_type') AS event_type,
    JSON_VALUE(doc, '$.page_url') AS page_url,
    JSON_VALUE(doc, '$.referrer_url') AS referrer_url,
    JSON_VALUE(doc, '$.referrer_domain') AS referrer_domain,
    JSON_VALUE(doc, '$.device_type') AS device_type,
    JSON_VALUE(doc, '$.device_type_category') AS device_type_category,
    JSON_VALUE(doc, '$.event_timestamp') AS event_timestamp_text,
    JSON_VALUE(doc, '$.is_bounce') AS is_bounce_text,
    JSON_VALUE(doc, '$.load_timestamp') AS load_timestamp_text,
    JSON_VALUE(doc, '$.schema_version') AS schema_version`,
  values: `IF(REGEXP_CONTAINS(event_timestamp_text, r'^[0-9]{4}-[0-9]{2}-[0-9]{2}T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})$') AND SAFE_CAST(event_timestamp_text AS TIMESTAMP) BETWEEN TIMESTAMP '0001-01-01 00:00:00+00' AND TIMESTAMP '9999-12-31 23:59:59.999999+00', SAFE_CAST(event_timestamp_text AS TIMESTAMP), NULL) AS event_timestamp,
    CASE is_bounce_text WHEN 'true' THEN TRUE WHEN 'false' THEN FALSE END AS is_bounce,
    IF(REGEXP_CONTAINS(load_timestamp_text, r'^[0-9]{4}-[0-9]{2}-[0-9]{2}T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})$') AND SAFE_CAST(load_timestamp_text AS TIMESTAMP) BETWEEN TIMESTAMP '0001-01-01 00:00:00+00' AND TIMESTAMP '9999-12-31 23:59:59.999999+00', SAFE_CAST(load_timestamp_text AS TIMESTAMP), NULL) AS loaded_at,
    (STRPOS(line, '\\\\') > 0 OR STRPOS(line, '\\x7f') > 0 OR STRPOS(line, '\\uFFFD') > 0) AS text_suspect`,
  columns: `event_id,
    session_id,
    user_id,
    event_type,
    page_url,
    referrer_url,
    referrer_domain,
    device_type,
    device_type_category,
    event_timestamp,
    is_bounce,
    loaded_at,
    schema_version`,
  rejectReason: `CASE
      WHEN line IS NULL OR (doc IS NULL AND beyond_delimiter IS NULL AND TRIM(line) = '') THEN 'empty line'
      WHEN doc IS NULL AND CHAR_LENGTH(line) > 65536
        THEN CONCAT('oversized line: ', CAST(CHAR_LENGTH(line) AS STRING), ' characters (the limit is 65536)')
      WHEN text_suspect AND STRPOS(line, '\\uFFFD') > 0
        THEN 'invalid text: the line holds U+FFFD, the mark of bytes that were not UTF-8'
      WHEN beyond_delimiter IS NOT NULL OR doc IS NULL THEN 'unparseable JSON line'
      WHEN NOT (STARTS_WITH(line, '{') OR STARTS_WITH(LTRIM(line, ' \\t\\n\\r'), '{')) THEN 'not a JSON object'
      WHEN event_id IS NULL OR TRIM(event_id) = '' THEN 'missing required field: event_id'
      WHEN session_id IS NULL THEN 'missing required field: session_id'
      WHEN event_type IS NULL THEN 'missing required field: event_type'
      WHEN page_url IS NULL THEN 'missing required field: page_url'
      WHEN device_type IS NULL THEN 'missing required field: device_type'
      WHEN device_type_category IS NULL THEN 'missing required field: device_type_category'
      WHEN event_timestamp_text IS NULL THEN 'missing required field: event_timestamp'
      WHEN is_bounce_text IS NULL THEN 'missing required field: is_bounce'
      WHEN load_timestamp_text IS NULL THEN 'missing required field: load_timestamp'
      WHEN schema_version IS NULL THEN 'missing required field: schema_version'
      WHEN event_timestamp IS NULL THEN CONCAT('unparseable timestamp: event_timestamp = ', event_timestamp_text)
      WHEN is_bounce IS NULL
        THEN CONCAT('wrong type: is_bounce = ', is_bounce_text, ' is not a boolean')
      WHEN loaded_at IS NULL THEN CONCAT('unparseable timestamp: load_timestamp = ', load_timestamp_text)
      WHEN text_suspect AND REGEXP_CONTAINS(CONCAT(COALESCE(event_id, ''), COALESCE(session_id, ''), COALESCE(user_id, ''), COALESCE(event_type, ''), COALESCE(page_url, ''), COALESCE(referrer_url, ''), COALESCE(referrer_domain, ''), COALESCE(device_type, ''), COALESCE(device_type_category, ''), COALESCE(schema_version, '')), r'[\\x00-\\x1f\\x7f\\x{FFFD}]')
        THEN CASE
          WHEN REGEXP_CONTAINS(event_id, r'[\\x00-\\x1f\\x7f]') THEN 'invalid text: event_id holds a control character'
          WHEN STRPOS(event_id, '\\uFFFD') > 0 THEN 'invalid text: event_id holds U+FFFD, the mark of bytes that were not UTF-8 (or of a lone surrogate, replaced)'
          WHEN REGEXP_CONTAINS(session_id, r'[\\x00-\\x1f\\x7f]') THEN 'invalid text: session_id holds a control character'
          WHEN STRPOS(session_id, '\\uFFFD') > 0 THEN 'invalid text: session_id holds U+FFFD, the mark of bytes that were not UTF-8 (or of a lone surrogate, replaced)'
          WHEN REGEXP_CONTAINS(user_id, r'[\\x00-\\x1f\\x7f]') THEN 'invalid text: user_id holds a control character'
          WHEN STRPOS(user_id, '\\uFFFD') > 0 THEN 'invalid text: user_id holds U+FFFD, the mark of bytes that were not UTF-8 (or of a lone surrogate, replaced)'
          WHEN REGEXP_CONTAINS(event_type, r'[\\x00-\\x1f\\x7f]') THEN 'invalid text: event_type holds a control character'
          WHEN STRPOS(event_type, '\\uFFFD') > 0 THEN 'invalid text: event_type holds U+FFFD, the mark of bytes that were not UTF-8 (or of a lone surrogate, replaced)'
          WHEN REGEXP_CONTAINS(page_url, r'[\\x00-\\x1f\\x7f]') THEN 'invalid text: page_url holds a control character'
          WHEN STRPOS(page_url, '\\uFFFD') > 0 THEN 'invalid text: page_url holds U+FFFD, the mark of bytes that were not UTF-8 (or of a lone surrogate, replaced)'
          WHEN REGEXP_CONTAINS(referrer_url, r'[\\x00-\\x1f\\x7f]') THEN 'invalid text: referrer_url holds a control character'
          WHEN STRPOS(referrer_url, '\\uFFFD') > 0 THEN 'invalid text: referrer_url holds U+FFFD, the mark of bytes that were not UTF-8 (or of a lone surrogate, replaced)'
          WHEN REGEXP_CONTAINS(referrer_domain, r'[\\x00-\\x1f\\x7f]') THEN 'invalid text: referrer_domain holds a control character'
          WHEN STRPOS(referrer_domain, '\\uFFFD') > 0 THEN 'invalid text: referrer_domain holds U+FFFD, the mark of bytes that were not UTF-8 (or of a lone surrogate, replaced)'
          WHEN REGEXP_CONTAINS(device_type, r'[\\x00-\\x1f\\x7f]') THEN 'invalid text: device_type holds a control character'
          WHEN STRPOS(device_type, '\\uFFFD') > 0 THEN 'invalid text: device_type holds U+FFFD, the mark of bytes that were not UTF-8 (or of a lone surrogate, replaced)'
          WHEN REGEXP_CONTAINS(device_type_category, r'[\\x00-\\x1f\\x7f]') THEN 'invalid text: device_type_category holds a control character'
          WHEN STRPOS(device_type_category, '\\uFFFD') > 0 THEN 'invalid text: device_type_category holds U+FFFD, the mark of bytes that were not UTF-8 (or of a lone surrogate, replaced)'
          WHEN REGEXP_CONTAINS(schema_version, r'[\\x00-\\x1f\\x7f]') THEN 'invalid text: schema_version holds a control character'
          WHEN STRPOS(schema_version, '\\uFFFD') > 0 THEN 'invalid text: schema_version holds U+FFFD, the mark of bytes that were not UTF-8 (or of a lone surrogate, replaced)'
        END
      WHEN event_type NOT IN ('page_view', 'product_view', 'add_to_cart', 'checkout', 'purchase')
        THEN CONCAT('invalid value: event_type = ', event_type)
      WHEN device_type_category NOT IN ('desktop', 'mobile', 'tablet')
        THEN CONCAT('invalid value: device_type_category = ', device_type_category)
      WHEN event_timestamp < TIMESTAMP '2000-01-01 00:00:00+00' OR TIMESTAMP_DIFF(event_timestamp, loaded_at, MICROSECOND) > 86400000000
        THEN CONCAT('implausible timestamp: event_timestamp = ', event_timestamp_text, ' (allowed: from 2000-01-01 to a day after the load time)')
      WHEN loaded_at < TIMESTAMP '2000-01-01 00:00:00+00'
        THEN CONCAT('implausible timestamp: load_timestamp = ', load_timestamp_text, ' (allowed: from 2000-01-01 to a day after the load time)')
    END`,
  payload: `IF(CHAR_LENGTH(line) > 65536, CONCAT(SUBSTR(line, 1, 4096), ' ... (', CAST(CHAR_LENGTH(line) AS STRING), ' characters)'), CONCAT(line, IF(beyond_delimiter IS NULL, '', CONCAT('\\x1f', beyond_delimiter))))`,
};

const startups = {
  document: `IF(CHAR_LENGTH(line) > 65536, NULL, SAFE.PARSE_JSON(line))`,
  texts: `JSON_VALUE(doc, '$.startup_id') AS startup_id,
    JSON_VALUE(doc, '$.name') AS name,
    JSON_VALUE(doc, '$.sector') AS sector,
    JSON_VALUE(doc, '$.country') AS country,
    JSON_VALUE(doc, '$.founded_year') AS founded_year_text,
    JSON_VALUE(doc, '$.funding_stage') AS funding_stage,
    JSON_VALUE(doc, '$.funding_stage_score') AS funding_stage_score_text,
    JSON_VALUE(doc, '$.total_funding_usd') AS total_funding_usd_text,
    JSON_VALUE(doc, '$.valuation_usd') AS valuation_usd_text,
    JSON_VALUE(doc, '$.valuation_bucket') AS valuation_bucket,
    JSON_VALUE(doc, '$.employee_count') AS employee_count_text,
    JSON_VALUE(doc, '$.contact_email_cleaned') AS contact_email_cleaned,
    JSON_VALUE(doc, '$.is_active') AS is_active_text,
    JSON_VALUE(doc, '$.updated_at') AS updated_at_text,
    JSON_VALUE(doc, '$.load_type') AS load_type,
    JSON_VALUE(doc, '$.schema_version') AS schema_version`,
  values: `IF(REGEXP_CONTAINS(founded_year_text, r'^-?[0-9]+$'), SAFE_CAST(founded_year_text AS INT64), NULL) AS founded_year,
    IF(REGEXP_CONTAINS(funding_stage_score_text, r'^-?[0-9]+$'), SAFE_CAST(funding_stage_score_text AS INT64), NULL) AS funding_stage_score,
    IF(REGEXP_CONTAINS(total_funding_usd_text, r'^-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][+-]?[0-9]+)?$'), SAFE_CAST(total_funding_usd_text AS FLOAT64), NULL) AS total_funding_usd,
    IF(REGEXP_CONTAINS(valuation_usd_text, r'^-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][+-]?[0-9]+)?$'), SAFE_CAST(valuation_usd_text AS FLOAT64), NULL) AS valuation_usd,
    IF(REGEXP_CONTAINS(employee_count_text, r'^-?[0-9]+$'), SAFE_CAST(employee_count_text AS INT64), NULL) AS employee_count,
    CASE is_active_text WHEN 'true' THEN TRUE WHEN 'false' THEN FALSE END AS is_active,
    IF(REGEXP_CONTAINS(updated_at_text, r'^[0-9]{4}-[0-9]{2}-[0-9]{2}T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})$') AND SAFE_CAST(updated_at_text AS TIMESTAMP) BETWEEN TIMESTAMP '0001-01-01 00:00:00+00' AND TIMESTAMP '9999-12-31 23:59:59.999999+00', SAFE_CAST(updated_at_text AS TIMESTAMP), NULL) AS updated_at,
    COALESCE(CAST(SAFE.PARSE_DATE('%Y-%m-%d', REGEXP_EXTRACT(source_file, r'load_date=([0-9]{4}-[0-9]{2}-[0-9]{2})')) AS TIMESTAMP), CURRENT_TIMESTAMP()) AS file_load_day,
    (STRPOS(line, '\\\\') > 0 OR STRPOS(line, '\\x7f') > 0 OR STRPOS(line, '\\uFFFD') > 0) AS text_suspect`,
  columns: `startup_id,
    name,
    sector,
    country,
    founded_year,
    funding_stage,
    funding_stage_score,
    total_funding_usd,
    valuation_usd,
    valuation_bucket,
    employee_count,
    contact_email_cleaned,
    is_active,
    updated_at,
    load_type,
    schema_version`,
  rejectReason: `CASE
      WHEN line IS NULL OR (doc IS NULL AND beyond_delimiter IS NULL AND TRIM(line) = '') THEN 'empty line'
      WHEN doc IS NULL AND CHAR_LENGTH(line) > 65536
        THEN CONCAT('oversized line: ', CAST(CHAR_LENGTH(line) AS STRING), ' characters (the limit is 65536)')
      WHEN text_suspect AND STRPOS(line, '\\uFFFD') > 0
        THEN 'invalid text: the line holds U+FFFD, the mark of bytes that were not UTF-8'
      WHEN beyond_delimiter IS NOT NULL OR doc IS NULL THEN 'unparseable JSON line'
      WHEN NOT (STARTS_WITH(line, '{') OR STARTS_WITH(LTRIM(line, ' \\t\\n\\r'), '{')) THEN 'not a JSON object'
      WHEN startup_id IS NULL OR TRIM(startup_id) = '' THEN 'missing required field: startup_id'
      WHEN name IS NULL THEN 'missing required field: name'
      WHEN sector IS NULL THEN 'missing required field: sector'
      WHEN country IS NULL THEN 'missing required field: country'
      WHEN founded_year_text IS NULL THEN 'missing required field: founded_year'
      WHEN funding_stage IS NULL THEN 'missing required field: funding_stage'
      WHEN funding_stage_score_text IS NULL THEN 'missing required field: funding_stage_score'
      WHEN total_funding_usd_text IS NULL THEN 'missing required field: total_funding_usd'
      WHEN valuation_usd_text IS NULL THEN 'missing required field: valuation_usd'
      WHEN valuation_bucket IS NULL THEN 'missing required field: valuation_bucket'
      WHEN employee_count_text IS NULL THEN 'missing required field: employee_count'
      WHEN contact_email_cleaned IS NULL THEN 'missing required field: contact_email_cleaned'
      WHEN is_active_text IS NULL THEN 'missing required field: is_active'
      WHEN updated_at_text IS NULL THEN 'missing required field: updated_at'
      WHEN load_type IS NULL THEN 'missing required field: load_type'
      WHEN schema_version IS NULL THEN 'missing required field: schema_version'
      WHEN founded_year IS NULL
        THEN CONCAT('wrong type: founded_year = ', founded_year_text, ' is not an integer')
      WHEN funding_stage_score IS NULL
        THEN CONCAT('wrong type: funding_stage_score = ', funding_stage_score_text, ' is not an integer')
      WHEN total_funding_usd IS NULL
        THEN CONCAT('wrong type: total_funding_usd = ', total_funding_usd_text, ' is not a number')
      WHEN valuation_usd IS NULL
        THEN CONCAT('wrong type: valuation_usd = ', valuation_usd_text, ' is not a number')
      WHEN employee_count IS NULL
        THEN CONCAT('wrong type: employee_count = ', employee_count_text, ' is not an integer')
      WHEN is_active IS NULL
        THEN CONCAT('wrong type: is_active = ', is_active_text, ' is not a boolean')
      WHEN updated_at IS NULL THEN CONCAT('unparseable timestamp: updated_at = ', updated_at_text)
      WHEN text_suspect AND REGEXP_CONTAINS(CONCAT(COALESCE(startup_id, ''), COALESCE(name, ''), COALESCE(sector, ''), COALESCE(country, ''), COALESCE(funding_stage, ''), COALESCE(valuation_bucket, ''), COALESCE(contact_email_cleaned, ''), COALESCE(load_type, ''), COALESCE(schema_version, '')), r'[\\x00-\\x1f\\x7f\\x{FFFD}]')
        THEN CASE
          WHEN REGEXP_CONTAINS(startup_id, r'[\\x00-\\x1f\\x7f]') THEN 'invalid text: startup_id holds a control character'
          WHEN STRPOS(startup_id, '\\uFFFD') > 0 THEN 'invalid text: startup_id holds U+FFFD, the mark of bytes that were not UTF-8 (or of a lone surrogate, replaced)'
          WHEN REGEXP_CONTAINS(name, r'[\\x00-\\x1f\\x7f]') THEN 'invalid text: name holds a control character'
          WHEN STRPOS(name, '\\uFFFD') > 0 THEN 'invalid text: name holds U+FFFD, the mark of bytes that were not UTF-8 (or of a lone surrogate, replaced)'
          WHEN REGEXP_CONTAINS(sector, r'[\\x00-\\x1f\\x7f]') THEN 'invalid text: sector holds a control character'
          WHEN STRPOS(sector, '\\uFFFD') > 0 THEN 'invalid text: sector holds U+FFFD, the mark of bytes that were not UTF-8 (or of a lone surrogate, replaced)'
          WHEN REGEXP_CONTAINS(country, r'[\\x00-\\x1f\\x7f]') THEN 'invalid text: country holds a control character'
          WHEN STRPOS(country, '\\uFFFD') > 0 THEN 'invalid text: country holds U+FFFD, the mark of bytes that were not UTF-8 (or of a lone surrogate, replaced)'
          WHEN REGEXP_CONTAINS(funding_stage, r'[\\x00-\\x1f\\x7f]') THEN 'invalid text: funding_stage holds a control character'
          WHEN STRPOS(funding_stage, '\\uFFFD') > 0 THEN 'invalid text: funding_stage holds U+FFFD, the mark of bytes that were not UTF-8 (or of a lone surrogate, replaced)'
          WHEN REGEXP_CONTAINS(valuation_bucket, r'[\\x00-\\x1f\\x7f]') THEN 'invalid text: valuation_bucket holds a control character'
          WHEN STRPOS(valuation_bucket, '\\uFFFD') > 0 THEN 'invalid text: valuation_bucket holds U+FFFD, the mark of bytes that were not UTF-8 (or of a lone surrogate, replaced)'
          WHEN REGEXP_CONTAINS(contact_email_cleaned, r'[\\x00-\\x1f\\x7f]') THEN 'invalid text: contact_email_cleaned holds a control character'
          WHEN STRPOS(contact_email_cleaned, '\\uFFFD') > 0 THEN 'invalid text: contact_email_cleaned holds U+FFFD, the mark of bytes that were not UTF-8 (or of a lone surrogate, replaced)'
          WHEN REGEXP_CONTAINS(load_type, r'[\\x00-\\x1f\\x7f]') THEN 'invalid text: load_type holds a control character'
          WHEN STRPOS(load_type, '\\uFFFD') > 0 THEN 'invalid text: load_type holds U+FFFD, the mark of bytes that were not UTF-8 (or of a lone surrogate, replaced)'
          WHEN REGEXP_CONTAINS(schema_version, r'[\\x00-\\x1f\\x7f]') THEN 'invalid text: schema_version holds a control character'
          WHEN STRPOS(schema_version, '\\uFFFD') > 0 THEN 'invalid text: schema_version holds U+FFFD, the mark of bytes that were not UTF-8 (or of a lone surrogate, replaced)'
        END
      WHEN sector NOT IN ('fintech', 'healthtech', 'edtech', 'climate', 'ai', 'ecommerce', 'logistics', 'biotech')
        THEN CONCAT('invalid value: sector = ', sector)
      WHEN NOT (founded_year >= 1800 AND founded_year <= 2100)
        THEN CONCAT('out of range: founded_year = ', founded_year_text, ' (allowed: 1800 <= value <= 2100)')
      WHEN funding_stage NOT IN ('pre_seed', 'seed', 'series_a', 'series_b', 'series_c', 'growth')
        THEN CONCAT('invalid value: funding_stage = ', funding_stage)
      WHEN NOT (funding_stage_score >= 1 AND funding_stage_score <= 6)
        THEN CONCAT('out of range: funding_stage_score = ', funding_stage_score_text, ' (allowed: 1 <= value <= 6)')
      WHEN NOT (total_funding_usd >= 0 AND total_funding_usd <= 10000000000000)
        THEN CONCAT('out of range: total_funding_usd = ', total_funding_usd_text, ' (allowed: 0 <= value <= 10000000000000)')
      WHEN NOT (valuation_usd >= 0 AND valuation_usd <= 10000000000000)
        THEN CONCAT('out of range: valuation_usd = ', valuation_usd_text, ' (allowed: 0 <= value <= 10000000000000)')
      WHEN valuation_bucket NOT IN ('under_10m', '10m_100m', '100m_1b', 'over_1b')
        THEN CONCAT('invalid value: valuation_bucket = ', valuation_bucket)
      WHEN NOT (employee_count >= 0 AND employee_count <= 10000000)
        THEN CONCAT('out of range: employee_count = ', employee_count_text, ' (allowed: 0 <= value <= 10000000)')
      WHEN NOT REGEXP_CONTAINS(contact_email_cleaned, r'^[0-9a-f]{64}$')
        THEN 'invalid value: contact_email_cleaned is not a SHA-256 hex digest'
      WHEN updated_at < TIMESTAMP '2000-01-01 00:00:00+00' OR TIMESTAMP_DIFF(updated_at, file_load_day, MICROSECOND) > 172800000000
        THEN CONCAT('implausible timestamp: updated_at = ', updated_at_text, ' (allowed: from 2000-01-01 to a day after the load time)')
      WHEN load_type NOT IN ('full', 'delta')
        THEN CONCAT('invalid value: load_type = ', load_type)
    END`,
  payload: `IF(CHAR_LENGTH(line) > 65536, CONCAT(SUBSTR(line, 1, 4096), ' ... (', CAST(CHAR_LENGTH(line) AS STRING), ' characters)'), CONCAT(line, IF(beyond_delimiter IS NULL, '', CONCAT('\\x1f', beyond_delimiter))))`,
};

const limits = {"maxLineChars": 65536, "quarantinedLineChars": 4096};

module.exports = { sales, clickstream, startups, limits };
