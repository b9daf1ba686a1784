"""Features: point-in-time risk signals per case and date (registry, pipeline engines, feature store).

Entry points: `pipeline.compute_features` / `pipeline.features_as_of`, `registry` (FEATURES, MODEL_FEATURES,
SENSITIVE, FEATURE_SET_VERSION), `store.FeatureStore`. Heavy imports stay in those modules.
"""
