"""The content store's topics: one mixin per topic, combined in ``services.content.store``."""
