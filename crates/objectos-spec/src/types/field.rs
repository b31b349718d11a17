//! Field metadata (`data/field.zod.ts`), select options, indexes and seed datasets.

use serde::{Deserialize, Serialize};

spec_enum! {
    /// FieldType.
    FieldType {
        Text => "text",
        Textarea => "textarea",
        Email => "email",
        Url => "url",
        Phone => "phone",
        Password => "password",
        Markdown => "markdown",
        Html => "html",
        Richtext => "richtext",
        Number => "number",
        Currency => "currency",
        Percent => "percent",
        Date => "date",
        Datetime => "datetime",
        Time => "time",
        Boolean => "boolean",
        Toggle => "toggle",
        Select => "select",
        Multiselect => "multiselect",
        Radio => "radio",
        Checkboxes => "checkboxes",
        Lookup => "lookup",
        MasterDetail => "master_detail",
        Tree => "tree",
        Image => "image",
        File => "file",
        Avatar => "avatar",
        Video => "video",
        Audio => "audio",
        Formula => "formula",
        Summary => "summary",
        Autonumber => "autonumber",
        Location => "location",
        Address => "address",
        Code => "code",
        Json => "json",
        Color => "color",
        Rating => "rating",
        Slider => "slider",
        Signature => "signature",
        Qrcode => "qrcode",
        Progress => "progress",
        Tags => "tags",
        Vector => "vector",
    }
}

/// SelectOption.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SelectOption {
    /// Display label (human-readable, any case allowed).
    pub label: String,
    /// Stored value (lowercase machine identifier).
    pub value: String,
    /// Color code for badges/charts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    /// Is default option.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<bool>,
}

spec_enum! {
    /// Index algorithm type.
    IndexType {
        Btree => "btree",
        Hash => "hash",
        Gin => "gin",
        Gist => "gist",
        Fulltext => "fulltext",
    }
}

/// Index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Index {
    /// Index name (auto-generated if not provided).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Fields included in the index.
    pub fields: Vec<String>,
    /// Index algorithm type.
    pub r#type: IndexType,
    /// Whether the index enforces uniqueness.
    pub unique: bool,
    /// Partial index condition (SQL WHERE clause for conditional indexes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partial: Option<String>,
}

spec_enum! {
    /// DatasetMode.
    DatasetMode {
        Insert => "insert",
        Update => "update",
        Upsert => "upsert",
        Replace => "replace",
        Ignore => "ignore",
    }
}

spec_enum! {
    /// DatasetEnv.
    DatasetEnv {
        Prod => "prod",
        Dev => "dev",
        Test => "test",
    }
}

/// Dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Dataset {
    /// Target Object Name.
    pub object: String,
    /// Field match for uniqueness check.
    pub external_id: String,
    /// Conflict resolution strategy.
    pub mode: DatasetMode,
    /// Applicable environments.
    pub env: Vec<DatasetEnv>,
    /// Data records.
    pub records: Vec<serde_json::Map<String, serde_json::Value>>,
}

spec_enum! {
    /// What happens if referenced record is deleted.
    DeleteBehavior {
        SetNull => "set_null",
        Cascade => "cascade",
        Restrict => "restrict",
    }
}

spec_enum! {
    /// Aggregation function to apply.
    FieldSummaryOperationsFunction {
        Count => "count",
        Sum => "sum",
        Min => "min",
        Max => "max",
        Avg => "avg",
    }
}

/// Roll-up summary definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FieldSummaryOperations {
    /// Source child object name for roll-up.
    pub object: String,
    /// Field on child object to aggregate.
    pub field: String,
    /// Aggregation function to apply.
    pub function: FieldSummaryOperationsFunction,
}

spec_enum! {
    /// Address format template.
    FieldAddressFormat {
        Us => "us",
        Uk => "uk",
        International => "international",
    }
}

spec_enum! {
    /// Color value format.
    FieldColorFormat {
        Hex => "hex",
        Rgb => "rgb",
        Rgba => "rgba",
        Hsl => "hsl",
    }
}

spec_enum! {
    /// Barcode format type.
    FieldBarcodeFormat {
        Qr => "qr",
        Ean13 => "ean13",
        Ean8 => "ean8",
        Code128 => "code128",
        Code39 => "code39",
        Upca => "upca",
        Upce => "upce",
    }
}

spec_enum! {
    /// QR code error correction level (L=7%, M=15%, Q=25%, H=30%). Only applicable when barcodeFormat is "qr".
    FieldQrErrorCorrection {
        L => "L",
        M => "M",
        Q => "Q",
        H => "H",
    }
}

spec_enum! {
    /// Currency mode: dynamic (user selectable) or fixed (single currency).
    FieldCurrencyConfigCurrencyMode {
        Dynamic => "dynamic",
        Fixed => "fixed",
    }
}

/// Configuration for currency field type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FieldCurrencyConfig {
    /// Decimal precision (default: 2).
    pub precision: u64,
    /// Currency mode: dynamic (user selectable) or fixed (single currency).
    pub currency_mode: FieldCurrencyConfigCurrencyMode,
    /// Default or fixed currency code (ISO 4217, e.g., USD, CNY, EUR).
    pub default_currency: String,
}

spec_enum! {
    /// Distance/similarity metric for vector search.
    FieldVectorConfigDistanceMetric {
        Cosine => "cosine",
        Euclidean => "euclidean",
        DotProduct => "dotProduct",
        Manhattan => "manhattan",
    }
}

spec_enum! {
    /// Vector index algorithm (HNSW for high accuracy, IVFFlat for large datasets).
    FieldVectorConfigIndexType {
        Hnsw => "hnsw",
        Ivfflat => "ivfflat",
        Flat => "flat",
    }
}

/// Configuration for vector field type (AI/ML embeddings).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FieldVectorConfig {
    /// Vector dimensionality (e.g., 1536 for OpenAI embeddings).
    pub dimensions: u64,
    /// Distance/similarity metric for vector search.
    pub distance_metric: FieldVectorConfigDistanceMetric,
    /// Whether vectors are normalized (unit length).
    pub normalized: bool,
    /// Whether to create a vector index for fast similarity search.
    pub indexed: bool,
    /// Vector index algorithm (HNSW for high accuracy, IVFFlat for large datasets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index_type: Option<FieldVectorConfigIndexType>,
}

spec_enum! {
    /// Virus scanning service provider.
    FieldFileAttachmentConfigVirusScanProvider {
        Clamav => "clamav",
        Virustotal => "virustotal",
        Metadefender => "metadefender",
        Custom => "custom",
    }
}

/// FieldFileAttachmentConfigImageValidationThumbnailSizesItem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FieldFileAttachmentConfigImageValidationThumbnailSizesItem {
    /// Thumbnail variant name (e.g., "small", "medium", "large").
    pub name: String,
    /// Thumbnail width in pixels.
    pub width: f64,
    /// Thumbnail height in pixels.
    pub height: f64,
    /// Crop to exact dimensions.
    pub crop: bool,
}

/// Image-specific validation rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FieldFileAttachmentConfigImageValidation {
    /// Minimum image width in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_width: Option<f64>,
    /// Maximum image width in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_width: Option<f64>,
    /// Minimum image height in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_height: Option<f64>,
    /// Maximum image height in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_height: Option<f64>,
    /// Required aspect ratio (e.g., "16:9", "1:1").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aspect_ratio: Option<String>,
    /// Auto-generate thumbnails.
    pub generate_thumbnails: bool,
    /// Thumbnail size configurations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail_sizes: Option<Vec<FieldFileAttachmentConfigImageValidationThumbnailSizesItem>>,
    /// Preserve EXIF metadata.
    pub preserve_metadata: bool,
    /// Auto-rotate based on EXIF orientation.
    pub auto_rotate: bool,
}

/// Configuration for file and attachment field types.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FieldFileAttachmentConfig {
    /// Minimum file size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_size: Option<f64>,
    /// Maximum file size in bytes (e.g., 10485760 = 10MB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_size: Option<f64>,
    /// Allowed file extensions (e.g., [".pdf", ".docx", ".jpg"]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_types: Option<Vec<String>>,
    /// Blocked file extensions (e.g., [".exe", ".bat", ".sh"]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_types: Option<Vec<String>>,
    /// Allowed MIME types (e.g., ["image/jpeg", "application/pdf"]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_mime_types: Option<Vec<String>>,
    /// Blocked MIME types.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_mime_types: Option<Vec<String>>,
    /// Enable virus scanning for uploaded files.
    pub virus_scan: bool,
    /// Virus scanning service provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virus_scan_provider: Option<FieldFileAttachmentConfigVirusScanProvider>,
    /// Scan files immediately on upload.
    pub virus_scan_on_upload: bool,
    /// Quarantine files if threat detected.
    pub quarantine_on_threat: bool,
    /// Object storage provider name (references ObjectStorageConfig).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_provider: Option<String>,
    /// Target bucket name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_bucket: Option<String>,
    /// Storage path prefix (e.g., "uploads/documents/").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_prefix: Option<String>,
    /// Image-specific validation rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_validation: Option<FieldFileAttachmentConfigImageValidation>,
    /// Allow multiple file uploads (overrides field.multiple).
    pub allow_multiple: bool,
    /// Allow replacing existing files.
    pub allow_replace: bool,
    /// Allow deleting uploaded files.
    pub allow_delete: bool,
    /// Require at least one file when field is required.
    pub require_upload: bool,
    /// Extract file metadata (name, size, type, etc.).
    pub extract_metadata: bool,
    /// Extract text content from documents (OCR/parsing).
    pub extract_text: bool,
    /// Keep previous versions of replaced files.
    pub versioning_enabled: bool,
    /// Maximum number of versions to retain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_versions: Option<f64>,
    /// Allow public read access to uploaded files.
    pub public_read: bool,
    /// Presigned URL expiration in seconds (default: 1 hour).
    pub presigned_url_expiry: f64,
}

spec_enum! {
    /// Encryption algorithm.
    FieldEncryptionConfigAlgorithm {
        Aes256Gcm => "aes-256-gcm",
        Aes256Cbc => "aes-256-cbc",
        Chacha20Poly1305 => "chacha20-poly1305",
    }
}

spec_enum! {
    /// Key management service provider.
    FieldEncryptionConfigKeyManagementProvider {
        Local => "local",
        AwsKms => "aws-kms",
        AzureKeyVault => "azure-key-vault",
        GcpKms => "gcp-kms",
        HashicorpVault => "hashicorp-vault",
    }
}

/// Key rotation policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FieldEncryptionConfigKeyManagementRotationPolicy {
    /// Enable automatic key rotation.
    pub enabled: bool,
    /// Rotation frequency in days.
    pub frequency_days: f64,
    /// Number of old key versions to retain.
    pub retain_old_versions: f64,
    /// Automatically rotate without manual approval.
    pub auto_rotate: bool,
}

/// Key management configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FieldEncryptionConfigKeyManagement {
    /// Key management service provider.
    pub provider: FieldEncryptionConfigKeyManagementProvider,
    /// Key identifier in the provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// Key rotation policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation_policy: Option<FieldEncryptionConfigKeyManagementRotationPolicy>,
}

spec_enum! {
    /// Encryption scope level.
    FieldEncryptionConfigScope {
        Field => "field",
        Record => "record",
        Table => "table",
        Database => "database",
    }
}

/// Field-level encryption configuration for sensitive data (GDPR/HIPAA/PCI-DSS).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FieldEncryptionConfig {
    /// Enable field-level encryption.
    pub enabled: bool,
    /// Encryption algorithm.
    pub algorithm: FieldEncryptionConfigAlgorithm,
    /// Key management configuration.
    pub key_management: FieldEncryptionConfigKeyManagement,
    /// Encryption scope level.
    pub scope: FieldEncryptionConfigScope,
    /// Allows equality queries on encrypted data.
    pub deterministic_encryption: bool,
    /// Allows search on encrypted data.
    pub searchable_encryption: bool,
}

spec_enum! {
    /// Masking strategy to use.
    FieldMaskingRuleStrategy {
        Redact => "redact",
        Partial => "partial",
        Hash => "hash",
        Tokenize => "tokenize",
        Randomize => "randomize",
        Nullify => "nullify",
        Substitute => "substitute",
    }
}

/// Data masking rules for PII protection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FieldMaskingRule {
    /// Field name to apply masking to.
    pub field: String,
    /// Masking strategy to use.
    pub strategy: FieldMaskingRuleStrategy,
    /// Regex pattern for partial masking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// Keep the original data format after masking.
    pub preserve_format: bool,
    /// Keep the original data length after masking.
    pub preserve_length: bool,
    /// Roles that see masked data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// Roles that see unmasked data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exempt_roles: Option<Vec<String>>,
}

/// Caching configuration for computed/formula fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FieldCached {
    /// Enable caching for computed field results.
    pub enabled: bool,
    /// Cache TTL in seconds (0 = no expiration).
    pub ttl: f64,
    /// Field paths that invalidate cache (e.g., ["inventory.quantity", "pricing.base_price"]).
    pub invalidate_on: Vec<String>,
}

/// Accuracy validation configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FieldDataQualityAccuracy {
    /// Reference data source for validation (e.g., "api.verify.com", "master_data").
    pub source: String,
    /// Minimum accuracy threshold (0-1, e.g., 0.95 = 95% match required).
    pub threshold: f64,
}

/// Data quality validation and monitoring rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FieldDataQuality {
    /// Enforce unique values across all records.
    pub uniqueness: bool,
    /// Minimum ratio of non-null values (0-1, default: 0 = no requirement).
    pub completeness: f64,
    /// Accuracy validation configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy: Option<FieldDataQualityAccuracy>,
}

/// Field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Field {
    /// Machine name (snake_case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Human readable label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Field Data Type.
    pub r#type: FieldType,
    /// Tooltip/Help text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Format string (e.g. email, phone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Physical column name in the target datasource. Defaults to the field key when not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column_name: Option<String>,
    /// Is required.
    pub required: bool,
    /// Is searchable.
    pub searchable: bool,
    /// Allow multiple values (Stores as Array/JSON). Applicable for select, lookup, file, image.
    pub multiple: bool,
    /// Is unique constraint.
    pub unique: bool,
    /// Default value.
    #[serde(
        default,
        deserialize_with = "super::keep_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub default_value: Option<serde_json::Value>,
    /// Max character length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<f64>,
    /// Min character length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<f64>,
    /// Total digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<f64>,
    /// Decimal places.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<f64>,
    /// Minimum value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Maximum value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Static options for select/multiselect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<SelectOption>>,
    /// Target object name (snake_case) for lookup/master_detail fields. Required for relationship types. Used by $expand to resolve foreign key IDs into full objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Filters applied to lookup dialogs (e.g. "active = true").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_filters: Option<Vec<String>>,
    /// If true, user needs read access to master record to edit this field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_requires_master_read: Option<bool>,
    /// What happens if referenced record is deleted.
    pub delete_behavior: DeleteBehavior,
    /// Formula expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    /// Roll-up summary definition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary_operations: Option<FieldSummaryOperations>,
    /// Programming language for syntax highlighting (e.g., javascript, python, sql).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Code editor theme (e.g., dark, light, monokai).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theme: Option<String>,
    /// Show line numbers in code editor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_numbers: Option<bool>,
    /// Maximum rating value (default: 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rating: Option<f64>,
    /// Allow half-star ratings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_half: Option<bool>,
    /// Display map widget for location field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_map: Option<bool>,
    /// Allow address-to-coordinate conversion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_geocoding: Option<bool>,
    /// Address format template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_format: Option<FieldAddressFormat>,
    /// Color value format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color_format: Option<FieldColorFormat>,
    /// Allow transparency/alpha channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_alpha: Option<bool>,
    /// Preset color options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset_colors: Option<Vec<String>>,
    /// Step increment for slider (default: 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<f64>,
    /// Display current value on slider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_value: Option<bool>,
    /// Custom marks/labels at specific values (e.g., {0: "Low", 50: "Medium", 100: "High"}).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marks: Option<std::collections::BTreeMap<String, String>>,
    /// Barcode format type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub barcode_format: Option<FieldBarcodeFormat>,
    /// QR code error correction level (L=7%, M=15%, Q=25%, H=30%). Only applicable when barcodeFormat is "qr".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qr_error_correction: Option<FieldQrErrorCorrection>,
    /// Display human-readable value below barcode/QR code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_value: Option<bool>,
    /// Enable camera scanning for barcode/QR code input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_scanning: Option<bool>,
    /// Configuration for currency field type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency_config: Option<FieldCurrencyConfig>,
    /// Configuration for vector field type (AI/ML embeddings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vector_config: Option<FieldVectorConfig>,
    /// Configuration for file and attachment field types.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_attachment_config: Option<FieldFileAttachmentConfig>,
    /// Field-level encryption configuration for sensitive data (GDPR/HIPAA/PCI-DSS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption_config: Option<FieldEncryptionConfig>,
    /// Data masking rules for PII protection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub masking_rule: Option<FieldMaskingRule>,
    /// Enable detailed audit trail for this field (tracks all changes with user and timestamp).
    pub audit_trail: bool,
    /// Array of field names that this field depends on (for formulas, visibility rules, etc.).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dependencies: Option<Vec<String>>,
    /// Caching configuration for computed/formula fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached: Option<FieldCached>,
    /// Data quality validation and monitoring rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_quality: Option<FieldDataQuality>,
    /// Field group name for organizing fields in forms and layouts (e.g., "contact_info", "billing", "system").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Formula expression that makes this field required when TRUE (e.g., "status = 'closed_won'").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditional_required: Option<String>,
    /// Hidden from default UI.
    pub hidden: bool,
    /// Read-only in UI.
    pub readonly: bool,
    /// Whether field is sortable in list views.
    pub sortable: bool,
    /// Help text displayed below the field in forms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inline_help_text: Option<String>,
    /// Track field changes in Chatter/activity feed (Salesforce pattern).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub track_feed_history: Option<bool>,
    /// Whether text comparisons are case-sensitive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_sensitive: Option<bool>,
    /// Auto-number display format pattern (e.g., "CASE-{0000}").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autonumber_format: Option<String>,
    /// Create standard database index.
    pub index: bool,
    /// Is external ID for upsert operations.
    pub external_id: bool,
}
