"""Growth and marketing tools of a store: share posters, referral landing, buy again and
recommendations, scheduled announcements and banners, the platform's campaign assets library and
marketing e-mail to customers who opted in."""
