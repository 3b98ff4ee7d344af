# Firestore in Native mode: the sales documents (collection winter_sales), the run
# history, the single-run guard and the export watermark.

resource "google_firestore_database" "platform" {
  count = var.create_firestore_database ? 1 : 0

  name                              = var.firestore_database
  location_id                       = var.firestore_location
  type                              = "FIRESTORE_NATIVE"
  point_in_time_recovery_enablement = "POINT_IN_TIME_RECOVERY_ENABLED"
  delete_protection_state           = "DELETE_PROTECTION_ENABLED"
  deletion_policy                   = "ABANDON"

  depends_on = [google_project_service.apis]
}
