export const CONTRACTS_VERSION = '0.1.0';
