// The CNI runner lives with the demo, which plays kubelet and Multus with it.
export * from '../../../demo/cni-runtime.ts'
