// Reading a namespace's routing lives with the demo, which prints and compares the same tables.
export * from '../../../demo/state.ts'
