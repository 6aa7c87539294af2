"""releasebot core: models, services and provider clients. Never imports bot/."""
