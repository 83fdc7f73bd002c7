export { newApiToken, type Stack, startStack } from '@jousting/testing';
