"""Real-name verification (实名认证) of stores and suppliers, reviewed by the platform."""
