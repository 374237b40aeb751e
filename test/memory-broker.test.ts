import { MemoryBroker } from '../src/runtime/brokers/memory-broker.js';
import { brokerContract } from './broker.contract.js';

brokerContract('memory', () => new MemoryBroker());
