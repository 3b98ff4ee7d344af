const currency = "EUR";
const statuses = ["completed", "refunded"];
function quoted(values) {
  return values.map((v) => `'${v}'`).join(", ");
}
module.exports = { currency, statuses, quoted };
