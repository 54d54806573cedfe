from components.get_features.component import get_features

__all__ = ["get_features"]
