package org.fwmerge;

/**
 * What a solver holds of its installed objective director (an {@link ObjectiveBridge} or an
 * {@link ObjectiveBridge.Terms}): the native object to delete once the library no longer calls it.
 */
interface ObjectiveDirector {
  void delete();
}
