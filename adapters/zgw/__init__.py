"""A ZGW adapter: deliveries become zaken with a document in VNG's Zaken/Documenten/Catalogi APIs (Open Zaak)."""
