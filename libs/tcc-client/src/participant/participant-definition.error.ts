/** A participant class that cannot be wired: thrown at start-up, naming the class and the method. */
export class ParticipantDefinitionError extends Error {
  override readonly name = 'ParticipantDefinitionError';
}
