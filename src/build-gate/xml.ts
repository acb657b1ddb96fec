import { XMLParser, XMLValidator } from 'fast-xml-parser'
import { ToolError } from '../core/errors.js'

/** Parses XML after validating it, so a truncated or broken report is an error, not "empty". */
export function parseXml(text: string, file: string, arrays: string[]): Record<string, unknown> {
  if (text.trim() === '') throw new ToolError(`report ${file} is empty`)
  const valid = XMLValidator.validate(text)
  if (valid !== true) {
    const { msg, line, col } = valid.err
    throw new ToolError(
      `report ${file} is not well-formed XML (line ${line}, column ${col}): ${msg}`
    )
  }
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    textNodeName: '#text',
    parseAttributeValue: false,
    parseTagValue: false,
    ignoreDeclaration: true,
    // Numeric references (&#10; &#x27;) are common in JUnit messages; decode them as XML does.
    htmlEntities: true,
    isArray: (name) => arrays.includes(name)
  })
  try {
    return parser.parse(text) as Record<string, unknown>
  } catch (e) {
    // The parser's own limits (nesting depth, entity expansion) on a hostile or broken report.
    throw new ToolError(`report ${file} could not be read as XML: ${(e as Error).message}`)
  }
}
