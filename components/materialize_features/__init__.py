from components.materialize_features.component import materialize_features

__all__ = ["materialize_features"]
