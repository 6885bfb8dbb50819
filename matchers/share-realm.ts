/**
 * Side effect only: give the test realm Node's typed-array constructors before anything loads
 * onnxruntime (onnxruntime-common captures the constructors when it is first required).
 */
import { shareTypedArrays } from './realm';

shareTypedArrays();
